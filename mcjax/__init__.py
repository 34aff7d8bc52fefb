"""mcjax: mode collapse in adversarial training, studied fast in JAX."""

from mcjax._version import __version__ as __version__

from mcjax._validation import ConfigError as ConfigError
from mcjax.core.results import GroupResult as GroupResult
from mcjax.core.results import SweepResult as SweepResult
from mcjax.core.run import run as run
from mcjax.core.sweep import Experiment as Experiment
from mcjax.core.sweep import run_sweep as run_sweep
from mcjax.core.system import System as System
from mcjax.metrics import ModeStats as ModeStats
from mcjax.metrics import mode_stats as mode_stats
from mcjax.systems.gan.config import Config as Config
from mcjax.systems.gan.config import HParams as HParams
from mcjax.systems.gan.config import make_hparams as make_hparams
from mcjax.systems.gan.config import stack_hparams as stack_hparams
from mcjax.systems.gan.engine import TrainState as TrainState
from mcjax.systems.gan.engine import make_train as make_train
from mcjax.systems.gan.engine import make_trainer as make_trainer
from mcjax.systems.gan.losses import LOSSES as LOSSES
from mcjax.systems.gan.remedies import REMEDIES as REMEDIES
from mcjax.systems.gan.remedies import apply_remedy as apply_remedy
from mcjax.systems.gan.spec import RunSpec as RunSpec
from mcjax.systems.wright_fisher.config import WFConfig as WFConfig
from mcjax.systems.wright_fisher.config import WFHParams as WFHParams
from mcjax.systems.wright_fisher.spec import WFSpec as WFSpec
from mcjax.targets import Target as Target
from mcjax.targets import grid as grid
from mcjax.targets import make_target as make_target
from mcjax.targets import ring as ring
