"""distill stage: teacher top-k cache, distillation losses, the one training loop, pruning schedules.

Modules (import them directly; this package imports nothing heavy):
``examples`` (tokenised examples with supervised positions), ``targets`` (offline teacher top-k
cache), ``losses`` (CE, forward/top-k/reverse KL, JSD, blended CoT loss), ``config``
(``DistillConfig``), ``trainer`` (``train``), ``schedule`` (``run_schedule``). See docs/distillation.md.
"""
