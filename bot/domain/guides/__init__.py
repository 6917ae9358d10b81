"""The guided commands, each a step machine (`bot.domain.guided.Machine`)."""
