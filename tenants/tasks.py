"""The pool's refill, run by beat in the public schema (tenants.pool)."""

from celery import shared_task

from tenants import pool


@shared_task(name="tenants.refill_pool", ignore_result=True)
def refill_pool() -> None:
    pool.refill_pool()
