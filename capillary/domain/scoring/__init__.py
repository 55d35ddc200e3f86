"""Credit scoring from tabular data: monotone binning with weight of evidence, a logistic
scorecard scaled to points with reason codes, a gradient-boosting challenger, and their
cross-validation (AUC, KS, Gini). Pure computation: the data comes in as rows of text."""
