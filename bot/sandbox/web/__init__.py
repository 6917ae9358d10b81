"""The sandbox's web simulator: personas' phones side by side, in a browser (`make sandbox`)."""

from bot.sandbox.web.base import COORDINATOR_ID, Persona, default_personas
from bot.sandbox.web.server import ContentProblem, Host, SandboxWeb

__all__ = ["COORDINATOR_ID", "ContentProblem", "Host", "Persona", "SandboxWeb", "default_personas"]
