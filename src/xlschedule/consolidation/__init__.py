"""The consolidated workbook's parts: the run and its figures, the frame every sheet shares, the palette,
the sheets and the charts. `xlschedule.consolidate` assembles them and is the entry point."""
