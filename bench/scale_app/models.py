from django.db import models


class Marker(models.Model):
    """One small table per tenant schema. The bench's AddField migrations (written to a temporary
    package for the run, bench/scale.py) add columns the model does not declare: only the
    migration state knows them, which is all ``migrate`` reads."""

    note = models.CharField(max_length=20, blank=True)

    def __str__(self):
        return self.note
