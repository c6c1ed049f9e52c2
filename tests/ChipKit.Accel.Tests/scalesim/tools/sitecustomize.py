# Emulates CPython >= 3.12 built-in sum() for floats (Neumaier compensated summation, bltinmodule.c), so SCALE-Sim
# run under Python 3.11 reports what it reports under 3.12 (its golden trace was regenerated for 3.12).
import builtins, math
_orig_sum = builtins.sum
def _sum312(iterable, /, start=0):
    items = list(iterable)
    if not all(type(x) is float for x in items) or not isinstance(start, (int, float)) or isinstance(start, bool):
        return _orig_sum(items, start)
    if not items:
        return start
    f = float(start); c = 0.0
    for x in items:
        t = f + x
        if abs(f) >= abs(x):
            c += (f - t) + x
        else:
            c += (x - t) + f
        f = t
    if c and math.isfinite(c):
        f += c
    return f
builtins.sum = _sum312
