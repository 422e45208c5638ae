"""Sales operations: a weekly pipeline review that leaves the CRM better than it found it.

Collects the CRM's sales records incrementally, flags data-quality problems, computes the
pipeline's numbers, ranks opportunities and risks, writes an HTML report with charts and a
Markdown summary, drafts follow-up e-mails (never sent) and creates one next-step task per
top deal per week.
"""

from bpa.flows import Flow
from flows.sales_operations.graph import build_graph
from flows.sales_operations.output import make_output
from flows.sales_operations.state import SalesOpsInput

__all__ = ["flow"]

flow = Flow(
    name="sales_operations",
    version="1.0.0",
    description=(
        "Reviews the sales pipeline: collects CRM data, flags data-quality problems, computes "
        "win rates, deal sizes, cycle length, stalled and overdue deals, ranks opportunities "
        "and risks, writes an HTML report with charts, drafts e-mails and creates next-step "
        "tasks (one per deal per week)."
    ),
    build_graph=build_graph,
    input_model=SalesOpsInput,
    make_output=make_output,
    connectors=("crm",),
)
