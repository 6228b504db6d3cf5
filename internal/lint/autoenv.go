package lint

import (
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// checkAutoEnv warns when autoEnv: true has no worker to receive the
// credentials: takos-apply links them to the app's workers, and at
// tako0614/takos@7d63ea66 a deployment of a container or service carries
// no environment at all, so they would reach nothing (they are still
// stored in the space).
func (c *checker) checkAutoEnv() {
	v, _ := c.doc.Get(manifest.PtrAutoEnv)
	if on, _ := v.(bool); !on {
		return
	}
	workers, _ := c.doc.Get("/spec/workers")
	if len(asMap(workers)) > 0 {
		return
	}
	msg := "autoEnv is true but the manifest has no worker: takos-apply stores the credentials in the Takos space and links them to the app's workers, " +
		"and on Takos containers and services receive no environment, so no component would get them; add a worker that reads them, or set autoEnv: false to store them only"
	c.report(ruleAutoEnvNoWorker, manifest.PtrAutoEnv, func() string {
		return msg
	})
}
