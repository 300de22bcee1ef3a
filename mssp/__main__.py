import sys

from mssp.cli import main

sys.exit(main())
