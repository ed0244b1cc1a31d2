"""Rasa graph components for Vietnamese text (thin: the logic lives in `bot.vietnamese`).

- `normalizer.VietnameseTextNormalizer`: NFC + lowercase before the tokenizer.
- `folded_featurizer.FoldedCountVectorsFeaturizer`: count features over the text with its
  diacritics folded away, so "tien ky quy" and "tiền ký quỹ" share features.
- `svm_classifier.SvmIntentClassifier`: the intent classifier (TF-IDF + linear SVM with
  calibrated confidences; the model itself is plain scikit-learn in `intent_model`).
- `multi_need.MultiNeedDetector`: `also_asked` topics of a message that asks several things.
- `places.PlaceEntityExtractor`: countries (ISO code), provinces (current unit), needs, cities.
- `emergency.EmergencyIntentGuard`: danger wins over the classifier.
"""
