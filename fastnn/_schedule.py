"""Dynamic scheduling for numba's parallel loops: workers take their work items from a shared counter.

numba's OpenMP threading layer hands a ``prange`` out statically: its ``omp for`` has no schedule
clause, so each thread gets one fixed contiguous block of the iterations whatever
``numba.parallel_chunksize`` says (checked: with an iteration 20x slower than the rest, thread 0
still runs exactly the first half). A thread that the OS or the hypervisor delays then holds the
whole launch up. Here a ``prange`` runs one iteration per worker, and each worker takes the next
item with an atomic fetch-and-add until none are left, as OpenMP's ``schedule(dynamic, 1)`` would:
a delayed thread leaves its share to the others.

    items = counter()
    for _ in prange(n_workers):
        item = take(items)
        while item < n_items:
            ...                       # work item `item`, writing only its own outputs
            item = take(items)

Two phases in one parallel region (the second reading what all of the first wrote) count the items
they finish with ``finish`` and wait with ``wait_for``: a worker waits only for items that others
have already taken, so a thread that starts late (a sleeping OpenMP worker woken on a busy host)
never holds the others up, as the join of a separate launch would.
"""
import numpy as np
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from . import _config


@njit(**_config.NUMBA_OPTIONS)
def counter():
    """A fresh work counter (one int64, starting at item 0)."""
    return np.zeros(1, np.int64)


def take(items):
    """The next work item: ``items[0] += 1``, returning the old value.

    Atomic when compiled; under ``NUMBA_DISABLE_JIT`` a ``prange`` is a plain ``range``, so this plain
    Python body runs serially and needs no atomicity.
    """
    item = items[0]
    items[0] += 1
    return item


def finish(done):
    """One more item finished: ``done[0] += 1``, after (release) everything this worker wrote for it."""
    done[0] += 1


def wait_for(done, n_items):
    """Until ``done[0] == n_items``; then (acquire) everything written for those items is visible here.
    Sequentially (NUMBA_DISABLE_JIT) a worker reaches this only after finishing every item it took."""
    while done[0] < n_items:
        pass


def _first_item(context, builder, signature, args):
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, aryty, ary, [context.get_constant(types.intp, 0)])


def _is_counter(a):
    return isinstance(a, types.Array) and a.dtype == types.int64


@intrinsic
def _fetch_add_monotonic(typingctx, items):
    """LLVM ``atomicrmw add`` of 1 on items[0]; returns the old value. Monotonic suffices for handing
    out indices: work items write disjoint outputs, and what orders them is finish/wait_for or the
    end of the parallel region."""
    if not _is_counter(items):
        return None

    def codegen(context, builder, signature, args):
        ptr = _first_item(context, builder, signature, args)
        return builder.atomic_rmw("add", ptr, context.get_constant(types.int64, 1), "monotonic")

    return types.int64(items), codegen


@intrinsic
def _fetch_add_release(typingctx, done):
    if not _is_counter(done):
        return None

    def codegen(context, builder, signature, args):
        ptr = _first_item(context, builder, signature, args)
        return builder.atomic_rmw("add", ptr, context.get_constant(types.int64, 1), "release")

    return types.int64(done), codegen


@intrinsic
def _load_acquire(typingctx, done):
    if not _is_counter(done):
        return None

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_first_item(context, builder, signature, args), "acquire", 8)

    return types.int64(done), codegen


@overload(take)
def _take(items):
    return lambda items: _fetch_add_monotonic(items)


@overload(finish)
def _finish(done):
    def impl(done):
        _fetch_add_release(done)
    return impl


@overload(wait_for)
def _wait_for(done, n_items):
    def impl(done, n_items):
        while _load_acquire(done) < n_items:
            pass
    return impl
