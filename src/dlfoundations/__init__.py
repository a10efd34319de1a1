"""dlfoundations: the tested code behind *Deep Learning Foundations with PyTorch*.

Modules are named by concept, never by chapter, and importing any of them is
cheap and side-effect free (nothing trains, downloads or seeds at import time).

Foundations:

- :mod:`dlfoundations.seed`: one helper seeds every random generator.
- :mod:`dlfoundations.devices`: device selection (CUDA, MPS, CPU).
- :mod:`dlfoundations.shapes`: broadcasting rules, checked.
- :mod:`dlfoundations.graph`: walking and drawing autograd's ``grad_fn`` graph.
- :mod:`dlfoundations.gradcheck`: finite-difference gradient checking.
- :mod:`dlfoundations.plotting`: the book's single plotting style.
- :mod:`dlfoundations.buildinfo`: library versions for the build report.

Data:

- :mod:`dlfoundations.data`: seeded synthetic data sets, collation, the fast in-memory loader.
- :mod:`dlfoundations.digits`: scikit-learn's bundled handwritten digits, split and normalised.
- :mod:`dlfoundations.sequences`: seeded sequence tasks (periodic series, the adding problem).

Models and their parts, written from scratch and proven equal to PyTorch's:

- :mod:`dlfoundations.regression`: linear regression by hand-written gradients and least squares.
- :mod:`dlfoundations.activations`: activation functions and their derivatives.
- :mod:`dlfoundations.losses`: regression and cross-entropy losses, written stably, refusing mismatched shapes.
- :mod:`dlfoundations.models`: multilayer perceptrons and parameter counting.
- :mod:`dlfoundations.backprop`: a two-layer network's forward and backward pass in plain tensor ops.
- :mod:`dlfoundations.optim`: SGD, RMSprop, Adam and AdamW as ``torch.optim.Optimizer`` subclasses.
- :mod:`dlfoundations.schedules`: learning-rate schedules as functions of the step.
- :mod:`dlfoundations.init`: weight initialisation schemes, gradient-flow measurements, gradient clipping.
- :mod:`dlfoundations.conv`: convolution (loops and im2col) and pooling.
- :mod:`dlfoundations.rnn`: RNN and LSTM cells and an LSTM layer.

Training and evaluation:

- :mod:`dlfoundations.train`: the training loop, ``fit()``, early stopping.
- :mod:`dlfoundations.studies`: multi-seed experiments reported as mean ± standard deviation.
- :mod:`dlfoundations.metrics`: confusion matrix, precision, recall and F1.
- :mod:`dlfoundations.checkpoint`: checkpoints that load with ``torch.load(weights_only=True)``.
- :mod:`dlfoundations.precision`: float formats, autocast and loss scaling (mixed precision).
- :mod:`dlfoundations.export`: ``torch.export`` with a dynamic batch, checked against eager mode.
- :mod:`dlfoundations.transfer`: freezing, parameter groups and heads for transfer learning.
- :mod:`dlfoundations.debug`: hooks for per-layer statistics, update ratios, the learning-rate range test, gradient accumulation and saved-tensor memory.
"""

__version__ = "0.1.0"
