import gc
import os
import sys

# The plan's GC thresholds (mssp.plan.offline.PLAN_GC_THRESHOLDS) from the start: importing the SDK and the
# azure-native modules allocates hundreds of thousands of long-lived objects, and with CPython's
# defaults the collector rescans them over and over (docs/benchmarks.md "Measurements behind the code").
gc.set_threshold(50_000, 20, 20)

from mssp.cli import main  # noqa: E402

code = main()
# Exit without tearing the interpreter down: every command has written its files and printed its
# output by now, and freeing a large plan's heap object by object (the Pulumi SDK's graph, its event
# loops) only costs time (docs/benchmarks.md "Measurements behind the code").
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
