from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migratingtest", "0001_initial")]

    operations = [
        migrations.AddField(model_name="note", name="extra", field=models.IntegerField(default=7)),
    ]
