"""Data: image decoding (resize, central crop), labelled data sets (ImageNet folders, labels.csv)
and class names. Device side: numpy and Pillow only; calibration and evaluation read images here.
"""
