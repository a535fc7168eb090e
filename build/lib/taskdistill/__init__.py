"""taskdistill: how far can a task-specific student be compressed, with how much data and which supervision.

Stages live in sub-packages (data, teacher, prune, distill, evaluate, scaling, sweep, report);
shared plumbing (offline assets, caches, config base, model loading) lives at the top level and in
``models``.
"""

__version__ = "0.1.0"
