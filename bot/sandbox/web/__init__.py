"""The sandbox's web simulator: personas' phones side by side, in a browser (`make sandbox`)."""

from bot.sandbox.web.server import (
    COORDINATOR_ID,
    ContentProblem,
    Host,
    Persona,
    SandboxWeb,
    default_personas,
)

__all__ = ["COORDINATOR_ID", "ContentProblem", "Host", "Persona", "SandboxWeb", "default_personas"]
