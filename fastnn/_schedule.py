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


def _on_first_item(name, emit):
    """An intrinsic taking an int64 counter array and returning int64: ``emit(builder, ptr, one)`` on
    the address of its first item."""
    def typer(typingctx, counter):
        if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
            return None

        def codegen(context, builder, signature, args):
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [context.get_constant(types.intp, 0)])
            return emit(builder, ptr, context.get_constant(types.int64, 1))

        return types.int64(counter), codegen

    typer.__name__ = name
    return intrinsic(typer)


# Monotonic suffices for handing out indices: work items write disjoint outputs, and what orders them
# is finish/wait_for (release/acquire) or the end of the parallel region.
_fetch_add_monotonic = _on_first_item("fetch_add_monotonic",
                                      lambda builder, ptr, one: builder.atomic_rmw("add", ptr, one, "monotonic"))
_fetch_add_release = _on_first_item("fetch_add_release",
                                    lambda builder, ptr, one: builder.atomic_rmw("add", ptr, one, "release"))
_load_acquire = _on_first_item("load_acquire", lambda builder, ptr, one: builder.load_atomic(ptr, "acquire", 8))


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
