"""Two operators, one account each: what one side needs from the other and how it gets there.

``values`` (the peer fields and the rules every value passes, from a form or a card), ``card`` (the
peer card file one operator sends the other), ``exchange`` (what is known before asking, checks
against the parameter file, what the other operator must do next, importing a card into a run) and
``form`` (the ipywidgets form that asks an analyst for missing values).
"""
