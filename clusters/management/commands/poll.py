from django.core.management.base import BaseCommand, CommandError

from clusters import polling
from clusters.models import Cluster


class Command(BaseCommand):
    help = "Poll every registered cluster (or one) now and print one line per node."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", help="the cluster's name")

    def handle(self, *args, cluster=None, **options):
        clusters = Cluster.objects.all()
        if cluster:
            clusters = clusters.filter(name=cluster)
            if not clusters.exists():
                raise CommandError(f"no cluster named {cluster!r}")
        if not clusters.exists():
            raise CommandError("no clusters are registered (see `manage.py provision`)")
        for each in clusters:
            result = polling.poll_cluster(each.pk)
            if result is None:
                self.stdout.write(f"{each.name}: another poll of this cluster is running; skipped")
                continue
            self.stdout.write(f"{result.name}: {result.status}, {result.last_poll_ms:.0f} ms")
            for node in result.nodes.all():
                self.stdout.write(self.node_line(node))
            for finding in result.topology.get("findings", []):
                self.stdout.write(f"  ! {finding['severity']}: {finding['message']}")

    @staticmethod
    def node_line(node) -> str:
        if node.status != "up":
            return f"  {node.display_name:<20} DOWN  {node.monitor_url}  {node.error}"
        figures = node.figures
        rate = figures.get("msgs_in_per_s")
        rate_text = f"{rate:.1f} msg/s in" if rate is not None else "rate after next poll"
        return (f"  {node.display_name:<20} up    {node.monitor_url}  v{node.version}  "
                f"{figures.get('connections', 0)} conns  {figures.get('routes', 0)} routes  {rate_text}")
