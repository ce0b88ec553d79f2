/** Every registered experiment's claims hook; each registers itself on import. */
import './mnist-baseline.js';
import './gc-ablation.js';
import './metric-reality-check.js';
import './lipschitz-domain-scaling.js';
import './fewshot-rfs.js';
import './hessian-penalty.js';
import './idinvert.js';
import './topogan.js';
