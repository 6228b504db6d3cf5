package cli

import (
	"context"
	"flag"
	"maps"
	"slices"

	"github.com/takos-dev/takos-apply/internal/appenv"
	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// envFlags place the credentials in Takos (spec.oauth.autoEnv): the
// space, the names, and the provider and env of the app's takos apply,
// which a group or service created before the first deploy carries.
type envFlags struct {
	space     string
	prefix    string
	provider  string
	deployEnv string
	names     appenv.Names
}

func (f *envFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&f.space, "space", e.getenv("TAKOS_WORKSPACE_ID"),
		"autoEnv: the Takos space (id or slug) that stores OAUTH_CLIENT_ID/OAUTH_CLIENT_SECRET; default your personal space (env TAKOS_WORKSPACE_ID)")
	fs.StringVar(&f.prefix, "env-prefix", e.getenv("TAKOS_ENV_PREFIX"),
		"autoEnv: store and link PREFIX_OAUTH_CLIENT_ID/PREFIX_OAUTH_CLIENT_SECRET instead, for a second app in one space (env TAKOS_ENV_PREFIX)")
	fs.StringVar(&f.provider, "provider", e.getenv("TAKOS_PROVIDER"),
		"autoEnv: the --provider of the app's takos apply (cloudflare, local, aws, gcp, k8s; default none, as takos apply), for a group created before the first deploy (env TAKOS_PROVIDER)")
	fs.StringVar(&f.deployEnv, "deploy-env", envDefault(e.getenv, "TAKOS_DEPLOY_ENV", appenv.DefaultDeployEnv),
		"autoEnv: the --env of the app's takos apply, for services created before the first deploy (env TAKOS_DEPLOY_ENV)")
}

// check refuses bad values before any request: a usage error.
func (f *envFlags) check(e *env, cmd string) bool {
	var err error
	if f.names, err = appenv.NamesFor(f.prefix); err == nil {
		if f.provider, err = appenv.CheckProvider(f.provider); err == nil {
			f.deployEnv, err = appenv.CheckDeployEnv(f.deployEnv)
		}
	}
	if err != nil {
		e.errorf(cmd, "%v", err)
		return false
	}
	return true
}

func (f *envFlags) options() appenv.Options {
	return appenv.Options{Space: f.space, Provider: f.provider, DeployEnv: f.deployEnv, Names: f.names}
}

// appOf is what appenv needs from the manifest.
func appOf(doc *manifest.Document, oauth *manifest.OAuth) appenv.App {
	keys := func(ptr string) []string {
		v, _ := doc.Get(ptr)
		m, _ := v.(map[string]any)
		return slices.Sorted(maps.Keys(m))
	}
	return appenv.App{
		Group:      doc.String("/metadata/name"),
		ClientName: oauth.ClientName,
		Workers:    keys("/spec/workers"),
		Containers: keys("/spec/containers"),
		Services:   keys("/spec/services"),
		Link:       oauth.AutoEnv,
	}
}

// locateEnv resolves the space and reads its stored values: nil when the
// manifest sets no autoEnv (nothing is stored in Takos then).
func (r *runner) locateEnv(ctx context.Context, cp *controlplane.Client, doc *manifest.Document, oauth *manifest.OAuth) (*appenv.Plan, int) {
	if !oauth.AutoEnvSet {
		if r.f.env.space != "" || r.f.env.prefix != "" {
			r.warnf("--space and --env-prefix do nothing: the manifest sets no spec.oauth.autoEnv, so nothing is stored in Takos")
		}
		return nil, ExitOK
	}
	p, err := appenv.Locate(ctx, cp, appOf(doc, oauth), r.f.env.options())
	if err != nil {
		return nil, r.failf(ExitFailure, "%v", err)
	}
	return p, ExitOK
}

// retireOld marks a rotated client as retiring (reconcile.ApplyOptions.Retire).
func retireOld(cp *controlplane.Client) func(context.Context, string, string) error {
	return func(ctx context.Context, oldID, newID string) error {
		uri := reconcile.RetiringURI(newID)
		_, err := cp.UpdateClient(ctx, oldID, controlplane.UpdateRequest{ClientURI: &uri})
		return err
	}
}
