"""django-tasks' immediate backend, which runs Wagtail's background jobs (its reference index and
search index updates after a page is saved) in the saving process, after the commit.

django-tasks 0.9 builds its results as ``TaskResult[T](...)``; on Python 3.11 and 3.12 that sets
``__orig_class__`` on a frozen, slotted dataclass and raises TypeError (django-tasks issues #202
and #223, CPython #90562), so every page save in Wagtail's admin failed. This backend builds the
same result without the subscript. Remove it once the locked django-tasks has the fix.
"""

from functools import partial

from django.db import transaction
from django_tasks.backends.immediate import ImmediateBackend as DjangoTasksImmediateBackend
from django_tasks.base import TaskResult, TaskResultStatus
from django_tasks.utils import get_random_id


class ImmediateBackend(DjangoTasksImmediateBackend):
    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
        task_result = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        if self._get_enqueue_on_commit_for_task(task) is not False:
            transaction.on_commit(partial(self._execute_task, task_result))
        else:
            self._execute_task(task_result)
        return task_result
