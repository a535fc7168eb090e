"""distill stage: distillation losses, the one training loop, and its settings.

Modules (import them directly; this package imports nothing heavy):
``losses`` (CE, forward/top-k/reverse KL, JSD, blended CoT loss), ``config`` (``DistillConfig``),
``trainer`` (``train``). The training examples, the teacher top-k cache and the annotations reader
live below this stage, in ``taskdistill.targets``. See docs/distillation.md.
"""
