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


@intrinsic
def _fetch_add(typingctx, items):
    """LLVM ``atomicrmw add`` of 1 on items[0]; returns the old value."""
    if not (isinstance(items, types.Array) and items.dtype == types.int64):
        return None
    sig = types.int64(items)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [context.get_constant(types.intp, 0)])
        # monotonic suffices: the counter only hands out indices; work items write disjoint outputs and
        # the end of the parallel region orders everything they wrote.
        return builder.atomic_rmw("add", ptr, context.get_constant(types.int64, 1), "monotonic")

    return sig, codegen


@overload(take)
def _take(items):
    return lambda items: _fetch_add(items)
