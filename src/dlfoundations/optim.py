r"""Optimizers from scratch: SGD (with momentum and Nesterov), RMSprop, Adam and AdamW.

Each optimizer is a ``torch.optim.Optimizer`` subclass with PyTorch's
argument names, so one ``**kwargs`` dict builds both the book's optimizer and
``torch.optim``'s, and the tests check that they move the parameters
identically. The updates are written as readable loops over the parameters,
with the equation of each line beside it; ``torch.optim`` computes the same
numbers with fused multi-tensor kernels.

The module also holds the two-dimensional test functions the chapter draws
(:func:`rosenbrock`, :func:`ill_conditioned_quadratic`), a helper that records
an optimizer's path on them (:func:`trajectory`), and the twin-model
comparison with ``torch.optim`` (:func:`train_twins`).

Book section: :ref:`chap-optimizers`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from dlfoundations._validation import check_bool, check_float, check_floating_tensor, check_int, check_lr, check_number
from dlfoundations.seed import make_generator

__all__ = [
    "SGD",
    "RMSprop",
    "Adam",
    "AdamW",
    "rosenbrock",
    "ill_conditioned_quadratic",
    "trajectory",
    "train_twins",
]


# ---------------------------------------------------------------- validation


def _nonnegative(value: object, name: str, label: str) -> float:
    return check_float(value, name, low=0.0, label=label)


def _unit_interval(value: object, name: str, label: str) -> float:
    return check_float(value, name, low=0.0, high=1.0, high_open=True, label=label)


def _check_betas(betas: object) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a tuple of two floats, got {betas!r}")
    beta1 = _unit_interval(betas[0], "betas[0]", "beta parameter at index 0")
    beta2 = _unit_interval(betas[1], "betas[1]", "beta parameter at index 1")
    return beta1, beta2


def _real_view(t: Tensor) -> Tensor:
    # torch.optim updates a complex parameter as pairs of reals: (re, im) -> (N, 2)
    return torch.view_as_real(t) if t.is_complex() else t


def _closure_loss(closure: Callable[[], Tensor] | None) -> Tensor | None:
    """``closure()`` with gradients enabled (``step`` runs under ``no_grad``), or ``None``."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


# ---------------------------------------------------------------- SGD


class SGD(torch.optim.Optimizer):
    r"""Stochastic gradient descent with momentum: :math:`\theta_t = \theta_{t-1} - \eta\, u_t`.

    One step, for every parameter :math:`\theta` with gradient :math:`g_t`
    (equations :eq:`eq-optim-sgd`, :eq:`eq-optim-buffer` and :eq:`eq-optim-nesterov`):

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0)\\
        u_t &= \mu u_{t-1} + (1 - \tau) g_t, \qquad u_1 = g_1 \\
        \theta_t &= \theta_{t-1} - \eta\, u_t \quad
            \text{or, with Nesterov,} \quad \theta_t = \theta_{t-1} - \eta\,(g_t + \mu u_t)

    With ``momentum=0`` this is plain (minibatch) gradient descent,
    :math:`\theta_t = \theta_{t-1} - \eta g_t`.

    Args:
        params (Iterable): parameters (or parameter-group dicts) to optimize.
        lr (float): learning rate :math:`\eta \ge 0`. Default: 1e-3.
        momentum (float): momentum factor :math:`\mu \ge 0`. Default: 0.
        dampening (float): dampening :math:`\tau` of the momentum. Default: 0.
        weight_decay (float): L2 penalty :math:`\lambda \ge 0`, added to the gradient. Default: 0.
        nesterov (bool): use Nesterov's look-ahead form. Default: False.

    Shape:
        Parameters of any shape; the momentum buffer has the parameter's shape.

    Raises:
        TypeError: if a hyper-parameter has the wrong type.
        ValueError: ``Invalid learning rate: -0.1`` and similar for a negative
            ``momentum`` or ``weight_decay``; ``Nesterov momentum requires a
            momentum and zero dampening`` as in ``torch.optim.SGD``.

    Note:
        As in ``torch.optim.SGD``, the buffer starts at the first gradient
        (:math:`u_1 = g_1`, not :math:`(1-\tau) g_1`), and the learning rate
        multiplies the buffer rather than entering it. Sutskever et al. (2013,
        eq. 1-4) write :math:`v_t = \mu v_{t-1} - \eta g_t` (the book's
        :math:`s_t`), :math:`\theta_t = \theta_{t-1} + v_t`, with :math:`v_0 = 0`, and evaluate
        Nesterov's gradient at the look-ahead point :math:`\theta + \mu v`. For
        a constant learning rate and :math:`\tau = 0` the two give the same
        iterates (:math:`v_t = -\eta u_t`); they differ when the learning rate
        changes during training, and PyTorch's Nesterov step is the
        reparametrised form in which the gradient is taken at the current point.

        Every hyper-parameter must be finite: ``torch.optim.SGD`` also accepts
        ``lr=inf`` or ``weight_decay=inf`` (which turn every parameter into
        ``inf`` or NaN at the first step); here they raise ``ValueError``.
        NaN and :math:`\pm\infty` in a gradient propagate exactly as in
        ``torch.optim.SGD``, and ``lr=0`` is allowed (finite parameters stay put).

    Reference: Polyak (1964), heavy-ball method; Sutskever et al. (2013),
    section 2, eq. 1-4. Book section: :ref:`sec-optim-momentum`.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        lr = check_lr(lr)
        momentum = _nonnegative(momentum, "momentum", "momentum value")
        dampening = check_float(dampening, "dampening", label="dampening value")
        weight_decay = _nonnegative(weight_decay, "weight_decay", "weight_decay value")
        nesterov = check_bool(nesterov, "nesterov")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, "
                f"got momentum={momentum} and dampening={dampening}"
            )
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step for every parameter that has a gradient; return ``closure()`` if given."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])  # g + lambda theta: grad of (lambda/2)||theta||^2
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        u = g.clone()  # u_1 = g_1
                    else:
                        u = (mu * state["momentum_buffer"]).add(g, alpha=1 - tau)  # u_t = mu u_{t-1} + (1 - tau) g_t
                    state["momentum_buffer"] = u
                    g = g.add(u, alpha=mu) if group["nesterov"] else u  # Nesterov: g_t + mu u_t
                p.add_(g, alpha=-lr)  # theta_t = theta_{t-1} - lr g
        return loss


# ---------------------------------------------------------------- RMSprop


class RMSprop(torch.optim.Optimizer):
    r"""RMSprop: divide the gradient by a running RMS, :math:`\theta_t = \theta_{t-1} - \eta\, g_t / (\sqrt{v_t} + \epsilon)`.

    One step, for every parameter (equations :eq:`eq-optim-rms-v` and :eq:`eq-optim-rms-step`):

    .. math::
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2, \qquad v_0 = 0 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t, \quad
            d_t = \sqrt{v_t - \bar g_t^2} + \epsilon \quad \text{(centered)} \\
        d_t &= \sqrt{v_t} + \epsilon \quad \text{(otherwise)} \\
        \theta_t &= \theta_{t-1} - \eta\, g_t / d_t \quad \text{or, with momentum,} \quad
            u_t = \mu u_{t-1} + g_t / d_t,\; \theta_t = \theta_{t-1} - \eta u_t

    Args:
        params (Iterable): parameters (or parameter-group dicts) to optimize.
        lr (float): learning rate :math:`\eta \ge 0`. Default: 1e-2.
        alpha (float): smoothing constant :math:`0 \le \alpha < 1`. Default: 0.99.
        eps (float): :math:`\epsilon \ge 0`, added to :math:`\sqrt{v_t}`. Default: 1e-8.
        weight_decay (float): L2 penalty :math:`\lambda \ge 0`, added to the gradient. Default: 0.
        momentum (float): momentum factor :math:`\mu \ge 0`. Default: 0.
        centered (bool): divide by an estimate of the gradient's standard
            deviation instead of its RMS. Default: False.

    Shape:
        Parameters of any shape; every state tensor has the parameter's shape.

    Raises:
        TypeError: if a hyper-parameter has the wrong type.
        ValueError: ``Invalid learning rate: -0.1``, ``Invalid alpha: 1.0 ...``,
            ``Invalid epsilon value: ...`` and similar.

    Note:
        Like ``torch.optim.RMSprop``, :math:`\epsilon` is added *outside* the
        square root; TensorFlow's ``ApplyRMSProp`` kernel adds it inside,
        :math:`\sqrt{v_t + \epsilon}`, and the lecture has no :math:`\epsilon`.
        The lecture also has no momentum or centering; those follow Graves
        (2013), as PyTorch does. The running averages use ``torch.lerp``, as
        ``torch.optim.RMSprop`` does, so NaN and :math:`\pm\infty` in a gradient
        reach the state and the parameters exactly as there.

        The checks are stricter than ``torch.optim.RMSprop``'s: it accepts
        :math:`\alpha \ge 1` (with :math:`\alpha = 1` the average never
        moves from 0 and every step is :math:`g_t / \epsilon`) and infinite
        ``lr``, ``eps`` or ``weight_decay``; here they raise ``ValueError``.

    Reference: Tieleman and Hinton (2012), Coursera lecture 6.5.
    Book section: :ref:`sec-optim-rmsprop`.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        lr = check_lr(lr)
        alpha = _unit_interval(alpha, "alpha", "alpha")
        eps = _nonnegative(eps, "eps", "epsilon value")
        weight_decay = _nonnegative(weight_decay, "weight_decay", "weight_decay value")
        momentum = _nonnegative(momentum, "momentum", "momentum value")
        centered = check_bool(centered, "centered")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step for every parameter that has a gradient; return ``closure()`` if given."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                p, g = _real_view(p), _real_view(p.grad)  # complex: pairs of reals, as in torch.optim
                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])  # g + lambda theta
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p)  # v_0 = 0
                    state["grad_avg"] = torch.zeros_like(p)
                    state["momentum_buffer"] = torch.zeros_like(p)
                state["step"] = int(state["step"]) + 1  # unused here; kept so state_dicts load into torch.optim
                v = torch.addcmul(alpha * state["square_avg"], g, g, value=1 - alpha)  # v_t = alpha v_{t-1} + (1 - alpha) g_t^2
                state["square_avg"] = v
                if group["centered"]:
                    g_bar = torch.lerp(state["grad_avg"], g, 1 - alpha)  # running mean: alpha g_bar + (1 - alpha) g
                    state["grad_avg"] = g_bar
                    denom = torch.addcmul(v, g_bar, g_bar, value=-1).sqrt() + eps  # sqrt(v_t - g_bar^2) + eps
                else:
                    denom = v.sqrt() + eps  # eps outside the square root
                if mu > 0:
                    u = torch.addcdiv(mu * state["momentum_buffer"], g, denom)  # u_t = mu u_{t-1} + g_t / d_t
                    state["momentum_buffer"] = u
                    p.add_(u, alpha=-lr)  # theta_t = theta_{t-1} - lr u_t
                else:
                    p.addcdiv_(g, denom, value=-lr)  # theta_t = theta_{t-1} - lr g_t / d_t
        return loss


# ---------------------------------------------------------------- Adam and AdamW


class Adam(torch.optim.Optimizer):
    r"""Adam: bias-corrected moment estimates, :math:`\theta_t = \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)`.

    One step, for every parameter (Kingma and Ba 2015, Algorithm 1; equations
    :eq:`eq-optim-adam-m` to :eq:`eq-optim-adam-step`):

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad m_0 = v_0 = 0 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    Args:
        params (Iterable): parameters (or parameter-group dicts) to optimize.
        lr (float): learning rate :math:`\eta \ge 0`. Default: 1e-3.
        betas (tuple[float, float]): decay rates :math:`(\beta_1, \beta_2)`,
            each in :math:`[0, 1)`. Default: ``(0.9, 0.999)``.
        eps (float): :math:`\epsilon \ge 0`, added to :math:`\sqrt{\hat v_t}`. Default: 1e-8.
        weight_decay (float): L2 penalty :math:`\lambda \ge 0`, *added to the
            gradient* before the moments (:class:`AdamW` decouples it). Default: 0.

    Shape:
        Parameters of any shape; ``exp_avg`` (:math:`m`) and ``exp_avg_sq``
        (:math:`v`) have the parameter's shape.

    Raises:
        TypeError: if a hyper-parameter has the wrong type.
        ValueError: ``Invalid learning rate: -0.1``, ``Invalid beta parameter
            at index 0: 1.0 ...``, ``Invalid epsilon value: ...``, ``Invalid
            weight_decay value: ...``.

    Note:
        Algorithm 1 of the paper is followed exactly, with :math:`\epsilon`
        outside the square root, as in ``torch.optim.Adam``. The paper's
        "more efficient" ordering (section 2) folds the bias corrections into
        the step size and so scales :math:`\epsilon` by
        :math:`\sqrt{1-\beta_2^t}`; PyTorch does not. Weight decay here is
        L2 regularisation, which Loshchilov and Hutter (2019) show is *not*
        weight decay for Adam.

        The bias corrections are applied as ``torch.optim.Adam`` applies them:
        to the scalars, as the step size :math:`\eta / (1 - \beta_1^t)` and
        the divisor :math:`\sqrt{1 - \beta_2^t}` of :math:`\sqrt{v_t}`,
        never by scaling :math:`v_t` up by :math:`1 / (1 - \beta_2^t)`
        (up to :math:`10^3` at the first step with the default
        :math:`\beta_2`), which overflows float32 for gradients near
        :math:`10^{19}`. :math:`m_t` is updated with ``torch.lerp`` as there,
        so NaN and :math:`\pm\infty` in a gradient reach the state and
        the parameters exactly as in ``torch.optim.Adam``. A complex
        parameter is updated as pairs of reals, as ``torch.optim`` does.
        Unlike ``torch.optim.Adam``, an infinite ``lr``, ``eps`` or
        ``weight_decay`` raises ``ValueError``.

    Reference: Kingma and Ba (2015), Algorithm 1. Book section: :ref:`sec-optim-adam`.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        lr = check_lr(lr)
        betas = _check_betas(betas)
        eps = _nonnegative(eps, "eps", "epsilon value")
        weight_decay = _nonnegative(weight_decay, "weight_decay", "weight_decay value")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    #: ``True`` in :class:`AdamW`, which shrinks the parameter instead of adding the L2 gradient.
    decoupled_weight_decay = False

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step for every parameter that has a gradient; return ``closure()`` if given."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                p, g = _real_view(p), _real_view(p.grad)  # complex: pairs of reals, as in torch.optim
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)  # m_0 = 0
                    state["exp_avg_sq"] = torch.zeros_like(p)  # v_0 = 0
                t = state["step"] = int(state["step"]) + 1  # step count t (torch.optim saves it as a tensor)
                if wd != 0:
                    if self.decoupled_weight_decay:
                        p *= 1 - lr * wd  # AdamW: theta <- (1 - lr lambda) theta, outside the moments
                    else:
                        g = g.add(p, alpha=wd)  # Adam: L2 gradient g + lambda theta, then normalised like g
                m = torch.lerp(state["exp_avg"], g, 1 - beta1)  # m_t = beta1 m_{t-1} + (1 - beta1) g_t
                v = torch.addcmul(beta2 * state["exp_avg_sq"], g, g, value=1 - beta2)  # v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
                state["exp_avg"], state["exp_avg_sq"] = m, v
                # Bias corrections m_hat = m_t / (1 - beta1^t), v_hat = v_t / (1 - beta2^t) (E[m_t] = (1 - beta1^t) E[g]),
                # applied to scalars as torch.optim does: v_t / (1 - beta2^t) itself could overflow float32.
                step_size = lr / (1 - beta1**t)
                denom = v.sqrt() / (1 - beta2**t) ** 0.5 + eps  # sqrt(v_hat) + eps
                p.addcdiv_(m, denom, value=-step_size)  # theta_t = theta_{t-1} - lr m_hat / (sqrt(v_hat) + eps)
        return loss


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, :math:`\theta_t = (1 - \eta\lambda)\theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)`.

    The moments :math:`m_t, v_t` see only the loss gradient; the decay
    shrinks the parameter directly, before the Adam step (equation
    :eq:`eq-optim-adamw`). Every other line is :class:`Adam`'s.

    Args:
        params (Iterable): parameters (or parameter-group dicts) to optimize.
        lr (float): learning rate :math:`\eta \ge 0`. Default: 1e-3.
        betas (tuple[float, float]): :math:`(\beta_1, \beta_2)` in :math:`[0, 1)`. Default: ``(0.9, 0.999)``.
        eps (float): :math:`\epsilon \ge 0`. Default: 1e-8.
        weight_decay (float): decoupled decay :math:`\lambda \ge 0`. Default: 1e-2 (as ``torch.optim.AdamW``).

    Shape:
        Parameters of any shape.

    Raises:
        TypeError, ValueError: as :class:`Adam`.

    Note:
        Loshchilov and Hutter (2019, Algorithm 2, line 12) write the decay as
        :math:`\eta_t \lambda \theta` with a schedule multiplier :math:`\eta_t`
        separate from Adam's step size :math:`\alpha` (equation
        :eq:`eq-optim-adamw-paper`); PyTorch (and this class) multiply
        :math:`\lambda` by the learning rate ``lr`` itself, which plays the
        part of :math:`\eta_t \alpha`. The updates agree when ``weight_decay``
        is the paper's :math:`\lambda / \alpha`.

    Reference: Loshchilov and Hutter (2019), Algorithm 2. Book section: :ref:`sec-optim-adamw`.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


# ---------------------------------------------------------------- test functions and helpers


def _check_xy(xy: object) -> Tensor:
    xy = check_floating_tensor(xy, "xy")
    if xy.shape[-1:] != (2,):
        raise ValueError(f"expected xy of shape (..., 2), got {tuple(xy.shape)}")
    return xy


def _check_rosenbrock_args(xy: object, a: object, b: object) -> tuple[Tensor, float, float]:
    return _check_xy(xy), check_float(a, "a"), check_float(b, "b")


def _check_optimizer_cls(cls: object, name: str) -> type[torch.optim.Optimizer]:
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TypeError(f"{name} must be a torch.optim.Optimizer subclass, got {cls!r}")
    return cls


def _check_trajectory_args(f: object, start: object, optimizer_cls: object, num_steps: object) -> list[float]:
    """Check the arguments of :func:`trajectory`; return ``start`` as two floats."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    _check_optimizer_cls(optimizer_cls, "optimizer_cls")
    check_int(num_steps, "num_steps", 1)
    if isinstance(start, (str, bytes)) or not isinstance(start, (tuple, list)):
        raise TypeError(f"start must be a pair of floats, got {type(start).__name__}")
    if len(start) != 2:
        raise ValueError(f"expected start of length 2, got {len(start)}")
    return [check_number(value, f"start[{i}]") for i, value in enumerate(start)]


def _check_scalar(value: object) -> Tensor:
    if not isinstance(value, Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"expected f to return a scalar tensor, got shape {shape}")
    return value


def rosenbrock(xy: Tensor, a: float = 1.0, b: float = 100.0) -> Tensor:
    r"""Rosenbrock's banana function: :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`.

    Its minimum :math:`f = 0` is at :math:`(a, a^2)`, at the end of a long,
    narrow, curved valley, which makes it a classic test for optimizers.

    Args:
        xy (Tensor): points, the last dimension holding :math:`(x, y)`.
        a (float): Default: 1.
        b (float): Default: 100.

    Shape:
        - xy: :math:`(..., 2)`
        - Output: :math:`(...)`

    Returns:
        Tensor: :math:`f` at every point, differentiable.

    Raises:
        TypeError: if ``xy`` is not a floating tensor, or ``a``, ``b`` not numbers.
        ValueError: if its last dimension is not 2, or ``a``, ``b`` are not finite.

    Reference: Rosenbrock (1960). Book section: :ref:`sec-optim-paths`.
    """
    xy, a, b = _check_rosenbrock_args(xy, a, b)
    x, y = xy[..., 0], xy[..., 1]
    return (a - x) ** 2 + b * (y - x**2) ** 2


def ill_conditioned_quadratic(xy: Tensor, kappa: float = 25.0) -> Tensor:
    r"""An axis-aligned quadratic bowl of condition number :math:`\kappa`: :math:`f(x, y) = \tfrac12 (x^2 + \kappa y^2)`.

    Its Hessian is :math:`\operatorname{diag}(1, \kappa)`: gradient descent
    must use :math:`\eta < 2/\kappa` to be stable along :math:`y`, and then
    crawls along :math:`x` with factor :math:`1 - \eta` per step.

    Args:
        xy (Tensor): points, the last dimension holding :math:`(x, y)`.
        kappa (float): condition number, :math:`\kappa \ge 1`. Default: 25.

    Shape:
        - xy: :math:`(..., 2)`
        - Output: :math:`(...)`

    Returns:
        Tensor: :math:`f` at every point, differentiable; minimum 0 at the origin.

    Raises:
        TypeError: if ``xy`` is not a floating tensor or ``kappa`` not a number.
        ValueError: if its last dimension is not 2, or ``kappa`` is not a finite number ``>= 1``.

    Book section: :ref:`sec-optim-paths`.
    """
    xy, kappa = _check_xy(xy), check_float(kappa, "kappa", low=1.0)
    x, y = xy[..., 0], xy[..., 1]
    return 0.5 * (x**2 + kappa * y**2)


def trajectory(
    f: Callable[[Tensor], Tensor],
    start: tuple[float, float],
    optimizer_cls: type[torch.optim.Optimizer],
    num_steps: int,
    **kwargs: object,
) -> Tensor:
    r"""Minimise a function of two variables and record every point: :math:`\theta_0, \theta_1, \dots, \theta_T`.

    Args:
        f (Callable): maps a ``(2,)`` tensor to a scalar tensor.
        start (tuple[float, float]): the starting point :math:`\theta_0`.
        optimizer_cls (type): an optimizer class, ``SGD``, ``Adam``, or one of ``torch.optim``'s.
        num_steps (int): number of steps :math:`T \ge 1`.
        **kwargs: hyper-parameters for ``optimizer_cls`` (``lr``, ``momentum``, ...).

    Shape:
        - Output: :math:`(T + 1, 2)`, float64.

    Returns:
        Tensor: the path, row ``t`` the point after ``t`` steps.

    Raises:
        TypeError: if ``f`` is not callable, ``start`` not a pair of numbers,
            ``optimizer_cls`` not an optimizer class or ``num_steps`` not an int.
        ValueError: if ``start`` does not have two entries, ``num_steps < 1``,
            or ``f`` does not return a scalar tensor.

    Book section: :ref:`sec-optim-paths`.
    """
    start = _check_trajectory_args(f, start, optimizer_cls, num_steps)
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)  # (2,)
    optimizer = optimizer_cls([theta], **kwargs)
    path = [theta.detach().clone()]
    for _ in range(num_steps):
        optimizer.zero_grad(set_to_none=True)
        value = _check_scalar(f(theta))
        value.sum().backward()
        optimizer.step()
        path.append(theta.detach().clone())
    return torch.stack(path)  # (T + 1, 2)


def _small_mlp(generator: torch.Generator, D: int, H: int, O: int) -> nn.Sequential:  # noqa: E741
    model = nn.Sequential(nn.Linear(D, H), nn.Tanh(), nn.Linear(H, O)).double()
    with torch.no_grad():  # draw the weights from `generator`, not from the global generator
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64) / math.sqrt(p.shape[-1]))
    return model


def _check_twins_args(optimizer_cls: object, reference_cls: object, num_steps: object) -> None:
    _check_optimizer_cls(optimizer_cls, "optimizer_cls")
    _check_optimizer_cls(reference_cls, "reference_cls")
    check_int(num_steps, "num_steps", 1)


def train_twins(
    optimizer_cls: type[torch.optim.Optimizer],
    reference_cls: type[torch.optim.Optimizer],
    num_steps: int = 20,
    seed: int = 0,
    **kwargs: object,
) -> tuple[list[Tensor], list[Tensor]]:
    r"""Train two identical float64 MLPs, one per optimizer, on the same data; return both parameter lists.

    The models are :math:`D=3 \to H=8 \to O=2` ``nn.Sequential`` networks
    with ``tanh``, built from the same seed, fitted to the mean squared error
    on :math:`N=16` random points, full batch, for ``num_steps`` steps. If the
    two optimizers implement the same update, the parameters agree to
    round-off.

    Args:
        optimizer_cls (type): the optimizer under test, e.g. :class:`Adam`.
        reference_cls (type): the reference, e.g. ``torch.optim.Adam``. A
            ``torch.optim`` class is built with ``foreach=False`` (its
            per-parameter loop).
        num_steps (int): number of steps. Default: 20.
        seed (int): seed of the data and the initial weights. Default: 0.
        **kwargs: hyper-parameters given to both optimizers.

    Returns:
        tuple[list[Tensor], list[Tensor]]: the final parameters of the two
        models, in ``model.parameters()`` order.

    Raises:
        TypeError: if a class is not an optimizer class or ``num_steps`` not an int.
        ValueError: if ``num_steps < 1``, or as the optimizers raise.

    Book section: :ref:`sec-optim-check`.
    """
    _check_twins_args(optimizer_cls, reference_cls, num_steps)
    generator = make_generator(seed)
    X = torch.randn(16, 3, generator=generator, dtype=torch.float64)  # (N, D)
    y = torch.randn(16, 2, generator=generator, dtype=torch.float64)  # (N, O)
    state = _small_mlp(generator, 3, 8, 2).state_dict()
    results = []
    for cls in (optimizer_cls, reference_cls):
        model = _small_mlp(make_generator(seed), 3, 8, 2)
        model.load_state_dict(state)  # identical starting weights
        extra = {"foreach": False} if cls.__module__.startswith("torch.optim") else {}
        optimizer = cls(model.parameters(), **kwargs, **extra)
        for _ in range(num_steps):
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(model(X), y)  # model(X): (N, O)
            loss.backward()
            optimizer.step()
        results.append([p.detach().clone() for p in model.parameters()])
    return results[0], results[1]
