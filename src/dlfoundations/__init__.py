"""dlfoundations: the tested code behind *Deep Learning Foundations with PyTorch*.

Modules are named by concept, never by chapter, and importing any of them is
cheap and side-effect free (nothing trains, downloads or seeds at import time):

- :mod:`dlfoundations.seed`: one helper seeds every random generator.
- :mod:`dlfoundations.devices`: device selection (CUDA, MPS, CPU).
- :mod:`dlfoundations.shapes`: broadcasting rules, checked.
- :mod:`dlfoundations.graph`: walking and drawing autograd's ``grad_fn`` graph.
- :mod:`dlfoundations.gradcheck`: finite-difference gradient checking.
- :mod:`dlfoundations.data`: seeded synthetic data sets.
- :mod:`dlfoundations.losses`: loss functions that refuse mismatched shapes.
- :mod:`dlfoundations.regression`: linear regression from scratch.
- :mod:`dlfoundations.plotting`: the book's single plotting style.
- :mod:`dlfoundations.buildinfo`: library versions for the build report.
"""

__version__ = "0.1.0"
