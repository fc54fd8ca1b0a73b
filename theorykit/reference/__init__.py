"""Published closed forms, typed in from the papers, used only as independent checks.

Nothing in the derive -> lower -> solve pipeline imports this package.
"""
