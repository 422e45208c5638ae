"""Things outside the suite that start runs on their own: inbound e-mail (`inbox`)."""

from bpa.triggers.inbox import InboxTrigger, MessageOutcome, PollReport, StartedRun, execute_runs

__all__ = ["InboxTrigger", "MessageOutcome", "PollReport", "StartedRun", "execute_runs"]
