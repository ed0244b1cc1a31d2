"""Rasa graph components for Vietnamese text (thin: the logic lives in `bot.vietnamese`).

- `normalizer.VietnameseTextNormalizer`: NFC + lowercase before the tokenizer.
- `folded_featurizer.FoldedCountVectorsFeaturizer`: count features over the text with its
  diacritics folded away, so "tien ky quy" and "tiền ký quỹ" share features.
- `places.PlaceEntityExtractor`: countries (ISO code), provinces (current unit), needs, cities.
- `emergency.EmergencyIntentGuard`: danger wins over the classifier.
"""
