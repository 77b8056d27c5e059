# The kernel source the UML binary is built from: the ONE place that names it.
# Both make and uml/build.sh read these lines ("NAME := value", one per line).
# A rebase changes UML_SOURCE_VERSION (and the package name on a new series)
# plus uml/patches/series; see uml/README.md.
UML_SOURCE_PACKAGE := linux-source-7.2
UML_SOURCE_VERSION := 7.2.12-1~bpo13+1
# apt-private suite set that carries that version.
UML_SOURCE_SUITES := trixie
