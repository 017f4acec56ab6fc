"""One training step of the single-model loop: eager, or replayed from a captured CUDA graph.

A small network's step on a GPU costs more in kernel launches (dozens per step: forward, backward,
the optimizer) than in arithmetic. On CUDA, with inputs of one shape (tables and images: not
sequences, whose packed lengths live on the host), ``Steps`` therefore runs a few eager steps on a
side stream (what CUDA graph capture needs first: cuBLAS workspaces, autograd's buffers), captures
one whole step (gather of the batch by index, bf16 forward, backward, the fused optimizer's step,
the loss accumulated on the device) as a CUDA graph, and replays it for every later full batch: one
index copy and one launch per step. The last, shorter batch of an epoch runs eagerly on the same
weights and optimizer state. Dropout's random masks are graph-safe (PyTorch registers the
generator with the graph), so each replay draws new ones. Anything that fails while capturing
falls back to eager steps for the rest of the fit, logged once; on the CPU steps are always eager.

This is written by hand rather than with ``torch.compile(mode="reduce-overhead")`` because compile
time (tens of seconds per architecture) would be paid by every trial of a search, each with its
own architecture; a capture costs one step.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

WARMUP = 3  # eager steps on a side stream before capture, as PyTorch's CUDA graph notes advise
# After one failed capture this process captures no more: a failed capture can leave CUDA state
# (the allocator's pool, on older torch the generator) that PyTorch itself calls unreliable.
_FAILED: list[str] = []


def graphable(
    device: torch.device, lengths: torch.Tensor | None, wanted: bool, network: str
) -> bool:
    """Whether a fit's steps may be captured: on CUDA, for inputs without sequence lengths, for
    the MLP and the CNN (cuDNN's recurrences under capture are not verified here)."""
    return (wanted and device.type == "cuda" and lengths is None and network != "rnn"
            and not _FAILED)  # fmt: skip


class Steps:
    """Training steps over rows ``b`` of the resident ``x``; each call returns the batch's summed
    loss as a device tensor (no host sync)."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: nn.Module,
        optimizer: torch.optim.Optimizer,
        x: torch.Tensor,
        lengths: torch.Tensor | None,
        targets: torch.Tensor,
        batch_size: int,
        graphed: bool,
        autocast: Any,
    ) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.x, self.lengths, self.targets = x, lengths, targets
        self.batch_size = batch_size
        self.graphed = graphed
        self.autocast = autocast  # a callable giving the autocast context of the device
        self.warm = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.index: torch.Tensor | None = None
        self.summed: torch.Tensor | None = None
        self.replays = 0  # steps that ran as graph replays (the benchmark and tests read it)

    def __call__(self, b: torch.Tensor) -> torch.Tensor:
        if not self.graphed or len(b) != self.batch_size:
            return self._eager(b)
        if self.graph is None:
            if self.warm < WARMUP:
                self.warm += 1
                return self._on_side_stream(b)
            stream = torch.cuda.current_stream()
            try:
                self._capture(b)
            except Exception as error:  # capture does not apply here: eager from now on
                torch.cuda.set_stream(stream)  # a failed capture_end leaves its stream current
                cause = error.__context__ or error
                log.warning("CUDA graph capture failed (%s; %s); training eagerly from now on",
                            error, cause)  # fmt: skip
                _FAILED.append(str(cause))
                self.graphed, self.graph = False, None
                self.optimizer.zero_grad(set_to_none=True)
                return self._eager(b)
        assert self.index is not None and self.summed is not None and self.graph is not None
        self.index.copy_(b)
        self.graph.replay()
        self.replays += 1
        return self.summed.clone()

    def _loss(self, b: torch.Tensor, cache: bool = True) -> torch.Tensor:
        lengths = None if self.lengths is None else self.lengths[b]
        with self.autocast(cache):
            out = self.model(self.x[b], lengths).float()
            return self.loss_fn(out, self.targets[b])

    def _eager(self, b: torch.Tensor) -> torch.Tensor:
        loss = self._loss(b)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach() * len(b)

    def _on_side_stream(self, b: torch.Tensor) -> torch.Tensor:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            out = self._eager(b)
        torch.cuda.current_stream().wait_stream(stream)
        return out

    def _capture(self, b: torch.Tensor) -> None:
        """Capture one step over the rows in ``self.index``, then replay it once for ``b`` (work
        is recorded, not run, during capture)."""
        self.index = b.clone()
        graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)  # gradients are allocated inside the graph
        with torch.cuda.graph(graph):
            loss = self._loss(self.index, cache=False)  # autocast's cache cannot span replays
            loss.backward()
            self.optimizer.step()
            self.summed = loss.detach() * self.batch_size
        self.graph = graph
