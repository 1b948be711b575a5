"""The WVS values study (Kim & Baek 2024, arXiv 2412.08846) beyond the 18 CultureSPA countries.

* :mod:`.official`: the official WVS wave 7 file -> weighted per-country answer shares and means;
* :mod:`.pipeline`: ``kind: wvs-study`` specs, several models compared (``culturealign run``);
* :mod:`.distill`: a teacher's culture-aware answers -> SFT data -> a student LoRA, r before/after.
"""
