import sys

from staffer.cli import main

sys.exit(main())
