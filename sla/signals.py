from django.dispatch import Signal

# Sent after commit when a version becomes active; kwargs: version, previous (or None).
# leads/ listens to rescore every open lead.
agreement_activated = Signal()

# Sent inside `agreement_change` before a draft's new content is saved, when the change makes a rule read a field
# it did not read before; kwargs: version, fields ({field name: path of the condition}). A receiver refuses the
# change by raising sla.exceptions.InvalidContent(message, path=...). leads/ refuses attributes written after
# hand-off (leads.attribute_timing), which sla cannot know.
agreement_fields_checking = Signal()
