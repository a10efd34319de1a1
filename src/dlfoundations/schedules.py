r"""Learning-rate schedules as plain functions of the step: ``lr_at(step)``.

Each function returns the learning rate to use at step :math:`t` (counting
from 0), computed in closed form from its equation. They take the same
arguments as the matching ``torch.optim.lr_scheduler`` class (``step_size``,
``gamma``, ``T_max``, ``eta_min``, ``start_factor``, ``end_factor``,
``total_iters``) plus the base learning rate ``lr``, and agree with it at
every step: :func:`step_lr` with ``StepLR``, :func:`cosine_annealing_lr` with
``CosineAnnealingLR`` and :func:`linear_lr` with ``LinearLR``.
:func:`warmup_cosine_lr` chains a linear warm-up and a cosine decay.

To drive an optimizer, set ``group["lr"] = lr_at(step)`` for every
parameter group before each step, or wrap the function in
``torch.optim.lr_scheduler.LambdaLR`` as a factor ``lr_at(step) / lr``.

Book section: :ref:`sec-optim-schedules`.
"""

from __future__ import annotations

import math

from dlfoundations._validation import check_float, check_int, check_lr

__all__ = ["step_lr", "cosine_annealing_lr", "linear_lr", "warmup_cosine_lr"]


def _check_step_lr(step: object, lr: object) -> tuple[int, float]:
    # A step may come from a NumPy array (np.int64), as torch.optim's schedulers accept it.
    return check_int(step, "step", 0, numpy_ok=True), check_lr(lr)


def _check_period(value: object, name: str) -> int:
    return check_int(value, name, 1, numpy_ok=True)


def _check_step_lr_args(step: object, lr: object, step_size: object, gamma: object) -> tuple[int, float, int, float]:
    return (*_check_step_lr(step, lr), _check_period(step_size, "step_size"),
            check_float(gamma, "gamma", low=0.0, high=1.0))


def _check_cosine_args(step: object, lr: object, T_max: object, eta_min: object) -> tuple[int, float, int, float]:
    t, lr = _check_step_lr(step, lr)
    return t, lr, _check_period(T_max, "T_max"), check_float(eta_min, "eta_min", low=0.0, high=lr)


def _check_linear_args(
    step: object, lr: object, start_factor: object, end_factor: object, total_iters: object
) -> tuple[int, float, float, float, int]:
    return (*_check_step_lr(step, lr),
            check_float(start_factor, "start_factor", low=0.0, low_open=True, high=1.0),
            check_float(end_factor, "end_factor", low=0.0, high=1.0),
            _check_period(total_iters, "total_iters"))


def _check_warmup_cosine_args(
    step: object, lr: object, warmup_steps: object, T_max: object, eta_min: object
) -> tuple[int, float, int, int, float]:
    t, lr = _check_step_lr(step, lr)
    warmup_steps, T_max = _check_period(warmup_steps, "warmup_steps"), _check_period(T_max, "T_max")
    if T_max <= warmup_steps:
        raise ValueError(f"Invalid T_max: {T_max} (expected T_max > warmup_steps = {warmup_steps})")
    return t, lr, warmup_steps, T_max, check_float(eta_min, "eta_min", low=0.0, high=lr)


def step_lr(step: int, lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Step decay: :math:`\eta_t = \eta_0\, \gamma^{\lfloor t / T_{\mathrm s} \rfloor}`.

    The learning rate is multiplied by ``gamma`` every ``step_size`` steps.

    Args:
        step (int): the step :math:`t \ge 0`.
        lr (float): the initial learning rate :math:`\eta_0 \ge 0`.
        step_size (int): period :math:`T_{\mathrm s} \ge 1` of the decay.
        gamma (float): factor :math:`\gamma \in [0, 1]`. Default: 0.1.

    Returns:
        float: :math:`\eta_t`, equal to ``StepLR(optimizer, step_size, gamma)``'s
        learning rate after ``step`` calls to ``scheduler.step()``.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: ``Invalid step: -1 ...``, ``Invalid learning rate: -0.1``,
            ``Invalid step_size: 0 ...``, ``Invalid gamma: 2.0 ...``.

    Note:
        ``StepLR`` accepts any ``gamma``, so a rate that grows
        (:math:`\gamma > 1`) or flips sign (:math:`\gamma < 0`); a *decay*
        here takes :math:`\gamma \in [0, 1]` and raises ``ValueError`` otherwise.
        Every argument must be finite (``lr=inf`` raises).

    Book section: :ref:`sec-optim-schedules`, equation :eq:`eq-optim-step-lr`.
    """
    t, lr, step_size, gamma = _check_step_lr_args(step, lr, step_size, gamma)
    return lr * gamma ** (t // step_size)


def cosine_annealing_lr(step: int, lr: float, T_max: int, eta_min: float = 0.0) -> float:
    r"""Cosine annealing: :math:`\eta_t = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})\,(1 + \cos(\pi t / T_{\max}))`.

    Falls from :math:`\eta_0` at :math:`t = 0` to :math:`\eta_{\min}` at
    :math:`t = T_{\max}` along half a cosine. For :math:`t > T_{\max}` the
    cosine continues (the rate rises again), as ``CosineAnnealingLR`` does;
    SGDR would restart instead.

    Args:
        step (int): the step :math:`t \ge 0`.
        lr (float): the initial (largest) learning rate :math:`\eta_0 \ge 0`.
        T_max (int): half-period :math:`T_{\max} \ge 1`.
        eta_min (float): the smallest learning rate, :math:`0 \le \eta_{\min} \le \eta_0`. Default: 0.

    Returns:
        float: :math:`\eta_t`, equal (to round-off) to ``CosineAnnealingLR(optimizer, T_max, eta_min)``'s
        learning rate after ``step`` calls to ``scheduler.step()``.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: for a negative ``step``, ``lr`` or ``eta_min``, ``eta_min > lr``, or ``T_max < 1``.

    Note:
        Written as the convex combination :math:`c\,\eta_0 + (1 - c)\,\eta_{\min}`,
        :math:`c = \tfrac12 (1 + \cos(\pi t / T_{\max}))`, which is the
        equation rearranged: it returns exactly :math:`\eta_0` at step 0 (as
        ``CosineAnnealingLR`` does) and exactly :math:`\eta_{\min}` at
        :math:`T_{\max}`, where :math:`\eta_{\min} + (\eta_0 - \eta_{\min})`
        can round away from :math:`\eta_0`; the result is clipped to
        :math:`[\eta_{\min}, \eta_0]` against round-off. ``CosineAnnealingLR`` also accepts
        :math:`\eta_{\min} > \eta_0` (a cosine that rises); here that raises ``ValueError``.

    Reference: Loshchilov and Hutter (2017), SGDR, eq. 5.
    Book section: :ref:`sec-optim-schedules`, equation :eq:`eq-optim-cosine`.
    """
    t, lr, T_max, eta_min = _check_cosine_args(step, lr, T_max, eta_min)
    c = 0.5 * (1 + math.cos(math.pi * t / T_max))  # 1 at t = 0, 0 at t = T_max (cos(pi) = -1 exactly)
    # eta_min + (lr - eta_min) c, kept exactly lr at t = 0, eta_min at T_max, and never outside [eta_min, lr]
    return min(max(lr * c + eta_min * (1 - c), eta_min), lr)


def linear_lr(
    step: int, lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
) -> float:
    r"""Linear ramp of the factor: :math:`\eta_t = \eta_0 \big(f_0 + (f_1 - f_0) \min(t, T) / T\big)`.

    With ``start_factor`` :math:`f_0 < 1` and ``end_factor`` :math:`f_1 = 1`
    this is the linear warm-up of Goyal et al. (2017): the rate climbs from
    :math:`f_0 \eta_0` to :math:`\eta_0` in :math:`T` steps, then stays.

    Args:
        step (int): the step :math:`t \ge 0`.
        lr (float): the base learning rate :math:`\eta_0 \ge 0`.
        start_factor (float): :math:`f_0 \in (0, 1]`. Default: 1/3.
        end_factor (float): :math:`f_1 \in [0, 1]`. Default: 1.
        total_iters (int): length :math:`T \ge 1` of the ramp. Default: 5.

    Returns:
        float: :math:`\eta_t`, equal to ``LinearLR(optimizer, start_factor,
        end_factor, total_iters)``'s learning rate after ``step`` calls to
        ``scheduler.step()``.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: as ``LinearLR``, for factors outside these ranges, or a
            negative ``step`` or ``lr``, or ``total_iters < 1``.

    Note:
        Computed as :math:`(1 - r) f_0 + r f_1` with :math:`r = \min(t, T)/T`,
        the equation rearranged so that the factor is exactly :math:`f_1` from
        :math:`t = T` on. ``LinearLR`` accepts ``total_iters=0``, a ramp that
        never ends (the rate stays at :math:`f_0 \eta_0` forever); here it raises ``ValueError``.

    Book section: :ref:`sec-optim-schedules`, equation :eq:`eq-optim-linear`.
    """
    t, lr, start_factor, end_factor, total_iters = _check_linear_args(step, lr, start_factor, end_factor, total_iters)
    r = min(t, total_iters) / total_iters  # progress along the ramp, 0 to 1
    return lr * ((1 - r) * start_factor + r * end_factor)  # = f_0 + (f_1 - f_0) r, exactly f_1 at the end


def warmup_cosine_lr(step: int, lr: float, warmup_steps: int, T_max: int, eta_min: float = 0.0) -> float:
    r"""Linear warm-up, then cosine decay: :math:`\eta_t = \eta_0 (t+1)/T_{\mathrm w}` for :math:`t < T_{\mathrm w}`, else cosine over the rest.

    .. math::
        \eta_t = \begin{cases}
            \eta_0\, \dfrac{t + 1}{T_{\mathrm w}} & t < T_{\mathrm w} \\
            \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min}) \big(1 + \cos(\pi \min(t - T_{\mathrm w}, T_{\max} - T_{\mathrm w}) / (T_{\max} - T_{\mathrm w}))\big) & t \ge T_{\mathrm w}
        \end{cases}

    The warm-up is :func:`linear_lr` with ``start_factor=1/warmup_steps`` and
    ``total_iters=warmup_steps - 1`` (it never uses a zero rate, and reaches
    :math:`\eta_0` at :math:`t = T_{\mathrm w} - 1`); after it,
    :func:`cosine_annealing_lr` runs for the remaining
    :math:`T_{\max} - T_{\mathrm w}` steps and then holds :math:`\eta_{\min}`.

    Args:
        step (int): the step :math:`t \ge 0`.
        lr (float): the peak learning rate :math:`\eta_0 \ge 0`.
        warmup_steps (int): length :math:`T_{\mathrm w} \ge 1` of the warm-up.
        T_max (int): total number of steps, :math:`T_{\max} > T_{\mathrm w}`.
        eta_min (float): the final learning rate, :math:`0 \le \eta_{\min} \le \eta_0`. Default: 0.

    Returns:
        float: :math:`\eta_t`.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: for a negative ``step`` or ``lr``, ``warmup_steps < 1``,
            ``T_max <= warmup_steps``, or ``eta_min`` outside ``[0, lr]``.

    Reference: Goyal et al. (2017), section 2.2; Loshchilov and Hutter (2017).
    Book section: :ref:`sec-optim-schedules`, equation :eq:`eq-optim-warmup-cosine`.
    """
    t, lr, warmup_steps, T_max, eta_min = _check_warmup_cosine_args(step, lr, warmup_steps, T_max, eta_min)
    if t < warmup_steps:
        return lr * ((t + 1) / warmup_steps)  # exactly lr at t = T_w - 1
    decay_steps = T_max - warmup_steps
    return cosine_annealing_lr(min(t - warmup_steps, decay_steps), lr, decay_steps, eta_min)
