"""The model tasks of the sales-operations flow: rank the shortlists, draft the e-mails."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bpa.models import ExtractTask, GenerateTask, PromptLibrary
from bpa.models.tasks import Extraction
from flows.sales_operations.scoring import offline_rank

__all__ = ["DRAFT_EMAIL", "INSIGHTS", "PROMPTS", "InsightRanking", "RankedDeal"]

PROMPTS = PromptLibrary.beside(__file__)


class RankedDeal(BaseModel):
    """One deal of a ranking, as a model puts it; the evidence is attached from the data."""

    opportunity_id: str = Field(description="An id from the candidates, exactly")
    headline: str = Field(max_length=300, description="One line: why this deal, with numbers")
    next_step: str = Field(max_length=200, description="The concrete next action for the agent")


class InsightRanking(BaseModel):
    """The shortlists re-ordered best first (opportunities) and most urgent first (risks)."""

    opportunities: list[RankedDeal] = Field(default_factory=list)
    risks: list[RankedDeal] = Field(default_factory=list)


def _rank_offline(text: str) -> Extraction[InsightRanking]:
    return Extraction(value=InsightRanking.model_validate(offline_rank(text)), confidence=1.0)


INSIGHTS = ExtractTask(
    name="sales_insights",
    schema=InsightRanking,
    prompts=PROMPTS,
    prompt="identify_insights.j2",
    offline=_rank_offline,
    description="Rank open deals as opportunities to push and risks to act on.",
)

DRAFT_EMAIL = GenerateTask(
    name="sales_draft_email",
    prompts=PROMPTS,
    prompt="draft_email.j2",
    offline_template="draft_email_offline.j2",
    description="A short follow-up e-mail from the deal's agent to the buyer (a draft).",
    max_chars=4000,
)
