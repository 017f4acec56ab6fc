"""Several trials of a deep learner trained together as one program (``search.population=K``).

Members are ``TorchClassifier``/``TorchRegressor`` estimators built for different trials. Those that
agree on everything but ``automl_torch.POPULATION_VARIES`` (and the per-trial ``max_epochs``,
``patience`` and ``time_limit``) form a group, and a group trains as one program: the members'
modules stacked with ``torch.func.stack_module_state``, one forward and backward pass over every
member per batch (``vmap`` of ``functional_call``: the MLP's matrix products become batched ones,
the CNN's convolutions grouped ones), then every member's own optimizer step. Each member is
initialised and sees its batches exactly as it would alone (the same seed, rows and shuffles), so
that without dropout a population gives each trial the scores it would get alone, to floating-point
tolerance; with dropout the masks come from another random stream (seed noise). A member leaves the
program when its patience runs out, its pruner stops it (its ``on_epoch`` raises) or it fails; the
others go on. What cannot be stacked trains one member after another: the RNN (cuDNN's recurrences
have no batching rule), batch normalisation (its running statistics), and a group of one.

The optimizer step is written out rather than taken from ``torch.optim``: its optimizers take one
learning rate per parameter group, and here one stacked tensor holds every member's weights, each
with its own learning rate and weight decay. It follows ``torch.optim.Adam``/``AdamW``'s
single-tensor arithmetic (the CPU's), operation for operation, so that the test can compare the
two; on CUDA the single loop uses torch's fused kernel, the same update in another order.

Time: a member's time limit counts its share of the program's time (the moments divided among
the members still training); one out of time leaves at the end of that epoch. Each epoch's
``history_`` seconds are the program's, for all its members at once.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch.func import functional_call, stack_module_state, vmap

from automl_torch.estimators import (
    _autocast,
    _Model,
    _TorchEstimator,
    in_words,
    resident,
    resolve_device,
)
from automl_torch.networks import Dropout

log = logging.getLogger(__name__)

ARCHITECTURE = {
    "mlp": ("depth", "width", "shrink", "activation", "norm"),
    "cnn": ("depth", "channels", "kernel_size", "pooling", "activation"),
    "rnn": ("cell", "hidden", "layers", "bidirectional"),
}
SHARED = ("network", "batch_size", "optimizer", "validation_fraction", "standardize", "device",
          "random_state", "threads")  # fmt: skip
BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, which the single loop uses


def group_key(estimator: _TorchEstimator) -> tuple[Any, ...]:
    """What members of one program share: the class, the network and the training set-up."""
    names = (*SHARED, *ARCHITECTURE.get(estimator.network, ()))
    return (type(estimator), *(getattr(estimator, name) for name in names))


def stackable(estimator: _TorchEstimator, stack: bool | None = None) -> bool:
    """Whether members like ``estimator`` train as one program: the MLP (without batch norm)
    anywhere, the CNN on a GPU. On the CPU a stacked CNN ran at 0.65x the speed of its members
    one after another (benchmarks/population.py, 2 cores: vmap's pooling copies its batched
    activations), so there it trains them in turn unless ``stack`` insists (the tests do)."""
    if estimator.network == "mlp":
        return estimator.norm != "batch"
    if estimator.network == "cnn":
        return stack if stack is not None else resolve_device(estimator.device).type == "cuda"
    return False


def fit_population(
    estimators: Sequence[_TorchEstimator], X: Any, y: Any, stack: bool | None = None
) -> list[BaseException | None]:
    """Fit ``estimators`` in place, grouped into programs; per estimator, None or what stopped it.
    ``stack``: True stacks a CNN's members on the CPU too (see :func:`stackable`)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, estimator in enumerate(estimators):
        groups.setdefault(group_key(estimator), []).append(i)
    out: list[BaseException | None] = [None] * len(estimators)
    for members in groups.values():
        if len(members) > 1 and stackable(estimators[members[0]], stack):
            try:
                errors = _Program([estimators[i] for i in members]).fit(X, y)
            except torch.cuda.OutOfMemoryError:  # K networks did not fit: one after another
                log.warning("a population of %d ran out of GPU memory; training its members "
                            "one after another", len(members))  # fmt: skip
                torch.cuda.empty_cache()
                errors = [_alone(estimators[i], X, y) for i in members]
            except MemoryError:
                raise  # the worker leaves; the next request starts afresh (automl.fitting.worker)
            except Exception as error:  # what broke the program fails its members, not others
                errors = [error] * len(members)
            for i, error in zip(members, errors, strict=True):
                out[i] = error
            continue
        for i in members:
            out[i] = _alone(estimators[i], X, y)
    return out


def _alone(estimator: _TorchEstimator, X: Any, y: Any) -> BaseException | None:
    try:
        estimator.fit(X, y)
    except MemoryError:
        raise
    except Exception as error:  # optuna.TrialPruned included: this member leaves
        return error
    return None


class _Program:
    """One group's members trained together (see the module's docstring)."""

    def __init__(self, members: list[_TorchEstimator]) -> None:
        self.members = members
        self.errors: list[BaseException | None] = [None] * len(members)

    def fit(self, X: Any, y: Any) -> list[BaseException | None]:
        start = time.monotonic()
        lead = self.members[0]
        device = resolve_device(lead.device)
        if lead.threads > 0:
            torch.set_num_threads(lead.threads)
        X, y = lead._checked(X, y)
        for member in self.members[1:]:
            member._checked(X, y)
        x, lengths = resident(X, device)
        targets, outputs = lead._targets(y, device)
        for member in self.members[1:]:
            member._targets(y, device)  # each member's classes_ (or target scaling), as alone
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            generator, train, valid, scale = lead._split(x, lengths, device)
            for member in self.members:  # each initialised as it would be alone
                torch.manual_seed(member.random_state)
                network = member._network(tuple(x.shape[1:]), outputs)
                member.model_ = _Model(copy.deepcopy(scale), network).to(device)
                member.device_ = in_words(device)
            # Every member's scaling is the same (the same training rows): applied once to all
            # rows here, not per member and batch inside the program, so that the first layer's
            # input is one tensor that every member shares (the same values as alone, elementwise).
            with torch.no_grad():
                scaled = x if scale is None else scale.to(device)(x, lengths)
            self._train(scaled, lengths, targets, train, valid, generator, device, start)
        return self.errors

    def _train(self, x, lengths, targets, train, valid, generator, device, start) -> None:  # type: ignore[no-untyped-def]
        self._prepare(device, start)
        epoch = 0
        while self.live:
            began = time.perf_counter()
            train_loss = self._epoch(x, lengths, targets, train, generator, device)
            seconds = time.perf_counter() - began
            watched = (
                self._valid_loss(self.params, self.buffers, x, lengths, targets, valid)
                if len(valid)
                else train_loss
            )
            leaving = self._judge(epoch, train_loss, watched, seconds, validating=bool(len(valid)))
            if leaving:
                keep = [k for k in range(len(self.live)) if k not in leaving]
                self.live = [self.live[k] for k in keep]
                self.params = _kept(self.params, keep, grad=True)
                self.buffers = _kept(self.buffers, keep)
                self.state.keep(keep)
            epoch += 1

    def _prepare(self, device: torch.device, start: float) -> None:
        """The program's shared structure, its members' stacked weights and optimizer state, and
        each member's early-stopping and time bookkeeping."""
        members = self.members
        self.live = list(range(len(members)))
        self.loss_fn = members[0]._loss()
        self.base = copy.deepcopy(members[0].model_.net).to("meta")  # structure; weights stack
        rate = max(m.dropout for m in members)
        for module in self.base.modules():
            if isinstance(module, Dropout):
                module.rate = rate  # runs when any member drops out; each uses its own buffer
                module.stacked = True
        self.params, self.buffers = stack_module_state([m.model_.net for m in members])
        self.state = _Adam(self.params, members, device)
        # A member's time is its share of the program's: the set-up shared by all, then each
        # moment divided among the members still training.
        self.used, self.last = (time.monotonic() - start) / len(members), time.monotonic()
        self.timed = [False] * len(members)
        self.best = [float("inf")] * len(members)
        self.best_state: list[dict[str, torch.Tensor] | None] = [None] * len(members)
        self.stale = [0] * len(members)
        for member in members:
            member.history_ = []
            member.stopped_by_time_ = False

    def _epoch(  # type: ignore[no-untyped-def]
        self, x, lengths, targets, train, generator, device
    ) -> list[float]:
        """One epoch of every live member over the shuffled training rows; their mean losses."""
        members, live = self.members, self.live
        self.base.train()
        total = torch.zeros(len(live), device=device)
        seen = 0
        shuffled = train[torch.randperm(len(train), device=device, generator=generator)]
        for i in range(0, len(shuffled), members[0].batch_size):
            b = shuffled[i : i + members[0].batch_size]
            if len(b) < 2:  # batch normalisation cannot use a batch of one
                continue
            with _autocast(device):
                rows = None if lengths is None else lengths[b]
                batch = self._losses(self.params, self.buffers, x[b], rows, targets[b])
            for p in self.params.values():
                p.grad = None
            batch.sum().backward()  # each member's gradient is its own loss's
            self.state.step(self.params)
            total += batch.detach() * len(b)
            seen += len(b)
            now = time.monotonic()
            self.used, self.last = self.used + (now - self.last) / len(live), now
            for i in live:
                limit = members[i].time_limit
                self.timed[i] = self.timed[i] or (limit is not None and self.used > limit)
            if all(self.timed[i] for i in live):  # as alone: the epoch ends here
                break
        return (total / max(1, seen)).tolist()  # the epoch's one host sync

    def _judge(
        self,
        epoch: int,
        train_loss: list[float],
        watched: list[float],
        seconds: float,
        validating: bool,
    ) -> list[int]:
        """Record each live member's epoch and say which leave: pruned or failed, out of
        patience, epochs or time (the positions among the live)."""
        leaving = []
        for k, i in enumerate(self.live):
            member = self.members[i]
            member.history_.append({"epoch": epoch, "train_loss": train_loss[k],
                                    "loss": watched[k], "seconds": seconds})  # fmt: skip
            if watched[k] < self.best[i] - 1e-7:
                self.best[i], self.stale[i] = watched[k], 0
                if validating:
                    self.best_state[i] = _slice({**self.params, **self.buffers}, k)
            else:
                self.stale[i] += 1
            try:
                if member.on_epoch is not None:
                    member.on_epoch(epoch, watched[k])  # may raise optuna.TrialPruned
            except Exception as error:
                self.errors[i] = error
                leaving.append(k)
                continue
            # Out of time: it leaves after this epoch (alone, it stops within the epoch).
            member.stopped_by_time_ = self.timed[i]
            done = (validating and self.stale[i] >= member.patience) or (
                epoch + 1 >= member.max_epochs
            )
            if self.timed[i] or done:
                self._finish(member, _slice({**self.params, **self.buffers}, k), self.best_state[i])
                leaving.append(k)
        return leaving

    def _losses(
        self, params: dict, buffers: dict, xb: torch.Tensor, lb: Any, tb: torch.Tensor
    ) -> torch.Tensor:
        """Every live member's mean loss on one batch (all see the same rows): a vector."""

        def one(pk: dict, bk: dict) -> torch.Tensor:
            return self.loss_fn(functional_call(self.base, (pk, bk), (xb, lb)).float(), tb)

        return vmap(one, randomness="different")(params, buffers)

    def _valid_loss(self, params, buffers, x, lengths, targets, rows) -> list[float]:  # type: ignore[no-untyped-def]
        """Each live member's mean loss on the validation rows, in float32 (as the single loop)."""
        self.base.eval()
        total = torch.zeros(len(next(iter(params.values()))), device=x.device)
        with torch.no_grad():
            for i in range(0, len(rows), 4096):
                b = rows[i : i + 4096]
                lb = None if lengths is None else lengths[b]
                total += self._losses(params, buffers, x[b], lb, targets[b]) * len(b)
        return (total / len(rows)).tolist()

    def _finish(
        self, member: _TorchEstimator, last: dict[str, torch.Tensor], best: dict | None
    ) -> None:
        """Give a leaving member its own module: the best epoch's weights when it validated."""
        member.model_.net.load_state_dict(best if best is not None else last)
        member.n_epochs_ = len(member.history_)


def _slice(tensors: dict[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    return {name: t[k].detach().clone() for name, t in tensors.items()}


def _kept(tensors: dict[str, torch.Tensor], keep: list[int], grad: bool = False) -> dict:
    index = torch.tensor(keep, dtype=torch.long, device=next(iter(tensors.values())).device)
    out = {name: t.detach().index_select(0, index) for name, t in tensors.items()}
    if grad:
        for t in out.values():
            t.requires_grad_(True)
    return out


class _Adam:
    """Adam, or AdamW, for stacked parameters with one learning rate and weight decay per member
    (their first dimension); torch.optim's single-tensor arithmetic (see the module docstring):
    its scalars are computed in double precision and rounded once, as Python floats are there."""

    def __init__(
        self, params: dict[str, torch.Tensor], members: list, device: torch.device
    ) -> None:
        if members[0].optimizer not in ("adam", "adamw"):
            raise ValueError(f"unknown optimizer '{members[0].optimizer}'; available: adam, adamw")
        self.decoupled = members[0].optimizer == "adamw"
        self.lr = torch.tensor([float(m.lr) for m in members], dtype=torch.float64, device=device)
        self.wd = torch.tensor([float(m.weight_decay) for m in members], dtype=torch.float64,
                               device=device)  # fmt: skip
        self.decays = bool(self.wd.any())
        self.steps = 0
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}

    def keep(self, keep: list[int]) -> None:
        index = torch.tensor(keep, dtype=torch.long, device=self.lr.device)
        self.lr, self.wd = self.lr[index], self.wd[index]
        self.m, self.v = _kept(self.m, keep), _kept(self.v, keep)

    @torch.no_grad()
    def step(self, params: dict[str, torch.Tensor]) -> None:
        self.steps += 1
        beta1, beta2 = BETAS
        correction1 = 1 - beta1**self.steps
        correction2_sqrt = (1 - beta2**self.steps) ** 0.5
        dtype = next(iter(params.values())).dtype
        step_size = (self.lr / correction1).to(dtype)
        shrink = (1 - self.lr * self.wd).to(dtype)
        wd = self.wd.to(dtype)
        for name, p in params.items():
            shape = (len(step_size),) + (1,) * (p.ndim - 1)
            grad = p.grad
            if self.decoupled:
                p.mul_(shrink.view(shape))
            elif self.decays:
                grad = grad + wd.view(shape) * p
            m, v = self.m[name], self.v[name]
            m.lerp_(grad, 1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (v.sqrt() / correction2_sqrt).add_(EPS)
            # torch's param.addcdiv_(exp_avg, denom, value=-step_size), with a step per member
            p.addcdiv_(m * step_size.view(shape), denom, value=-1.0)
