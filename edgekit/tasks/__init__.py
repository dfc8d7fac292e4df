"""Tasks: what a model's outputs mean (``tasks.base``), registered by decorator.

``classification`` (one class vector) and ``tensor`` (anything, compared element by element) are
built in; ``task_for(outputs)`` picks one, ``get_task(name)`` names one.
"""

from edgekit.tasks.base import Metric, Task, get_task, known, register, task_for

__all__ = ["Metric", "Task", "get_task", "known", "register", "task_for"]
