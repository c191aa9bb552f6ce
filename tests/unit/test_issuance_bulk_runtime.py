"""The cycle collector is paused for bulk operations and resumed after, whatever happens."""

from __future__ import annotations

import gc
import threading

import pytest

from ledger.issuance.bulk_runtime import collection_paused, freeze_inherited


@pytest.fixture(autouse=True)
def _restore_gc():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable() if enabled else gc.disable()


def test_paused_inside_and_resumed_after_even_on_error():
    gc.enable()
    with pytest.raises(RuntimeError):
        with collection_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_and_concurrent_uses_resume_at_the_last_exit():
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other():
        with collection_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collection_paused():
        with collection_paused():
            pass
        assert not gc.isenabled()  # the inner exit did not resume it
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread still holds it
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()


def test_cycles_made_while_paused_wait_and_are_collected_afterwards():
    import weakref

    gc.enable()
    gc.collect()

    class Node:
        pass

    with collection_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        for _ in range(3000):  # allocations that would have set off collections
            [[] for _ in range(10)]
        assert alive() is not None  # no collection ran
    gc.collect()
    assert alive() is None


def test_a_forked_worker_freezes_what_it_inherited_and_collects_the_rest():
    gc.disable()  # as when forked inside collection_paused
    inherited = [{"row": i} for i in range(1000)]
    before = gc.get_freeze_count()
    freeze_inherited()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(inherited)
