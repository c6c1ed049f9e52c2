#!/usr/bin/env python3
"""The peer side of scripts/gpu-check.sh: cuBLAS / cuDNN (through PyTorch) at ChipKit's sizes, with NVML energy.

For each workload spec (ChipKit's spec strings, e.g. gemm:m=4096,n=4096,k=4096,tb=1 or conv:n=32,c=64,h=56,k=64,r=3,pad=1)
it times the same op with CUDA events (median of repeated runs after warm-up) and reads NVML's total-energy counter
(or samples power) over a steady-state loop. Prints one JSON object per line:
  {"spec": ..., "peer": "cublas-fp32|cublas-tf32|cublas-bf16|cudnn-fp32", "gflops": ..., "seconds": ..., "watts": ..., "energy_source": ...}
fp32 GEMM and conv run with TF32 off (torch.backends.*.allow_tf32 = False), so they compare with ChipKit's fp32 kernels.
Usage: gpu-peer.py [--power-seconds S] SPEC [SPEC ...]
"""
import argparse
import ctypes
import json
import sys
import threading
import time


def parse_spec(spec):
    op, _, body = spec.partition(":")
    kv = {}
    for part in body.split(","):
        if part:
            k, _, v = part.partition("=")
            kv[k.strip()] = v.strip()
    return op, kv


class Nvml:
    """NVML through ctypes: total-energy counter when the board has one, else power sampled every 20 ms."""

    def __init__(self, index=0):
        self.lib = ctypes.CDLL("libnvidia-ml.so.1")
        if self.lib.nvmlInit_v2() != 0:
            raise RuntimeError("nvmlInit_v2 failed")
        self.handle = ctypes.c_void_p()
        if self.lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(self.handle)) != 0:
            raise RuntimeError(f"no NVML GPU {index}")
        mj = ctypes.c_ulonglong()
        self.counter = self.lib.nvmlDeviceGetTotalEnergyConsumption(self.handle, ctypes.byref(mj)) == 0
        self.source = "nvml-counter" if self.counter else "nvml-power-sampled"

    def power_watts(self):
        mw = ctypes.c_uint()
        self.lib.nvmlDeviceGetPowerUsage(self.handle, ctypes.byref(mw))
        return mw.value / 1000.0

    def joules(self):
        mj = ctypes.c_ulonglong()
        self.lib.nvmlDeviceGetTotalEnergyConsumption(self.handle, ctypes.byref(mj))
        return mj.value / 1000.0

    def measure(self, fn, seconds):
        """Runs fn() in a loop for `seconds`; returns (average watts, runs)."""
        import torch
        samples = []
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                samples.append((time.perf_counter(), self.power_watts()))
                time.sleep(0.02)

        t = None
        if not self.counter:
            t = threading.Thread(target=sampler, daemon=True)
            t.start()
        torch.cuda.synchronize()
        e0 = self.joules() if self.counter else 0.0
        t0 = time.perf_counter()
        runs = 0
        while time.perf_counter() - t0 < seconds:
            fn()
            runs += 1
            if runs % 8 == 0:
                torch.cuda.synchronize()
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if self.counter:
            return (self.joules() - e0) / dt, runs
        stop.set()
        t.join()
        joules = sum(0.5 * (w0 + w1) * (t1 - t0_) for (t0_, w0), (t1, w1) in zip(samples, samples[1:]))
        span = samples[-1][0] - samples[0][0] if len(samples) > 1 else 0
        return (joules / span if span > 0 else float("nan")), runs


def time_cuda(fn, min_seconds=1.0, min_runs=5):
    import torch
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    t_start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - t_start < min_seconds:
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1000.0)
        if len(times) > 1000:
            break
    times.sort()
    return times[len(times) // 2]


def build(spec, torch):
    op, kv = parse_spec(spec)
    dev = "cuda"
    if op == "gemm":
        m, n, k = int(kv["m"]), int(kv["n"]), int(kv["k"])
        dtype = kv.get("dtype", "f32")
        ta, tb = kv.get("ta", "0") == "1", kv.get("tb", "0") == "1"
        tdt = torch.bfloat16 if dtype == "bf16" else torch.float32
        a = torch.rand((k, m) if ta else (m, k), device=dev, dtype=torch.float32).mul_(2).sub_(1).to(tdt)
        b = torch.rand((n, k) if tb else (k, n), device=dev, dtype=torch.float32).mul_(2).sub_(1).to(tdt)
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        opa = a.t() if ta else a
        opb = b.t() if tb else b
        peer = {"f32": "cublas-fp32", "tf32": "cublas-tf32", "bf16": "cublas-bf16"}[dtype]
        return (lambda: torch.matmul(opa, opb)), 2.0 * m * n * k, peer
    if op == "conv":
        n = int(kv.get("n", 1)); c = int(kv["c"]); h = int(kv["h"]); w = int(kv.get("w", h))
        kk = int(kv["k"]); r = int(kv["r"]); s = int(kv.get("s", r))
        stride = int(kv.get("stride", 1)); pad = int(kv.get("pad", 0)); dil = int(kv.get("dilation", 1)); groups = int(kv.get("groups", 1))
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        x = torch.rand((n, c, h, w), device=dev).mul_(2).sub_(1)
        wt = torch.rand((kk, c // groups, r, s), device=dev).mul_(2).sub_(1)
        if kv.get("layout", "nchw") == "nhwc":
            x = x.to(memory_format=torch.channels_last)
            wt = wt.to(memory_format=torch.channels_last)
        fn = lambda: torch.nn.functional.conv2d(x, wt, stride=stride, padding=pad, dilation=dil, groups=groups)
        p = (h + 2 * pad - dil * (r - 1) - 1) // stride + 1
        q = (w + 2 * pad - dil * (s - 1) - 1) // stride + 1
        return fn, 2.0 * n * kk * p * q * (c // groups) * r * s, "cudnn-fp32"
    raise ValueError(f"gpu-peer.py: unsupported op in '{spec}'")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--power-seconds", type=float, default=3.0)
    ap.add_argument("--gpu", type=int, default=0)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print(json.dumps({"error": "PyTorch is not installed"}))
        return 2
    if not torch.cuda.is_available():
        print(json.dumps({"error": "torch.cuda.is_available() is False"}))
        return 2
    torch.cuda.set_device(args.gpu)
    try:
        nvml = Nvml(args.gpu)
    except (OSError, RuntimeError) as e:
        nvml = None
        print(json.dumps({"note": f"no NVML: {e}"}), file=sys.stderr)
    for spec in args.specs:
        try:
            fn, flops, peer = build(spec, torch)
            sec = time_cuda(fn)
            rec = {"spec": spec, "peer": peer, "seconds": sec, "gflops": flops / sec / 1e9, "device": torch.cuda.get_device_name(args.gpu)}
            if nvml is not None and args.power_seconds > 0:
                watts, _ = nvml.measure(fn, args.power_seconds)
                rec["watts"] = watts
                rec["energy_source"] = nvml.source
                rec["gflops_per_watt"] = rec["gflops"] / watts if watts and watts > 0 else None
            print(json.dumps(rec), flush=True)
            del fn
            torch.cuda.empty_cache()
        except Exception as e:  # keep going: one failed peer op does not hide the others
            print(json.dumps({"spec": spec, "error": f"{type(e).__name__}: {e}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
