"""Devices (study/trial/device.py) and the GPU each local worker sees (study/sweep/launch.py)."""

from __future__ import annotations

import torch

from study.sweep.launch import worker_devices
from study.trial.device import configure_cpu_threads


def test_a_gpu_device_of_any_index_keeps_torchs_threads(monkeypatch):
    monkeypatch.delenv("DPL_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        configure_cpu_threads("cuda:1")  # not the CPU: it was set to one thread before
        assert torch.get_num_threads() == 2
        configure_cpu_threads("cpu")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_each_local_worker_sees_one_gpu_round_robin(monkeypatch):
    """Two GPUs (this machine has none: the count is given), three workers: each sees one GPU
    as `cuda`, among those the parent was allowed."""
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert worker_devices("auto", 3) == [("cuda", "4"), ("cuda", "6"), ("cuda", "4")]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert worker_devices("cuda", 2) == [("cuda", "0"), ("cuda", "1")]
    assert worker_devices("cpu", 2) == [("cpu", None)] * 2
