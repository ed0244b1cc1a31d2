"""Vietnamese text handling in one place: normalising, folding diacritics, places and needs.

Used alike by the NLU components, the actions, the directory and the channels.
"""
