"""partnerbot: a voice for every stakeholder of a partnership, by phone chat."""
