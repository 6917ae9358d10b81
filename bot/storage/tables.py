"""Every table of the schema, registered on SQLModel's metadata: the migrations compare
against it. A feature whose tables live in a module of their own adds it here."""

from bot.storage import (
    caucus_models,
    champion_models,
    commitment_models,
    decision_models,
    group_models,
    media_models,
    models,
    objective_models,
)

MODULES = (
    models,
    caucus_models,
    champion_models,
    commitment_models,
    decision_models,
    group_models,
    media_models,
    objective_models,
)
