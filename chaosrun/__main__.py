import sys

from chaosrun.cli import main

sys.exit(main())
