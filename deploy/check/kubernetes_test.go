// Package check validates the broker's deployment templates (deploy/)
// offline with the parsers of the platforms that run them: the Kubernetes
// manifests decoded strictly into k8s.io/api's types by apimachinery's
// serializer (an unknown or duplicated field is an error, as with kubectl
// --validate=strict), the Cloud Run service against the vendored
// CustomResourceDefinition of Knative's Service by the API server's own
// pruning and schema validation (k8s.io/apiextensions-apiserver), and the
// systemd unit with systemd-analyze. Then it checks what a parser cannot:
// that selectors, ports, probes, secrets and mounts fit together as the
// broker needs them. It also reads the broker's metrics format (the golden
// output of internal/promtext) with Prometheus's own parser.
//
// It is a module of its own so that these dependencies stay out of
// takos-apply's go.mod; .ci/run runs it.
package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// kubeDecoder decodes the kinds the manifests may hold, strictly.
func kubeDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
}

// decodeManifests decodes every document of the YAML files.
func decodeManifests(dec runtime.Decoder, files map[string][]byte) ([]runtime.Object, error) {
	var objs []runtime.Object
	var errs []error
	for _, name := range slices.Sorted(mapsKeys(files)) {
		r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(files[name])))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, gvk, err := dec.Decode(doc, nil, nil)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d (%v): %w", name, i+1, gvk, err))
				continue
			}
			objs = append(objs, obj)
		}
	}
	return objs, errors.Join(errs...)
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// manifests are the decoded Kubernetes templates, by kind and name.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	accounts    map[string]*corev1.ServiceAccount
	pdbs        map[string]*policyv1.PodDisruptionBudget
	netpols     map[string]*networkingv1.NetworkPolicy
}

func index(t *testing.T, objs []runtime.Object) manifests {
	t.Helper()
	m := manifests{map[string]*appsv1.Deployment{}, map[string]*corev1.Service{}, map[string]*corev1.ConfigMap{},
		map[string]*corev1.ServiceAccount{}, map[string]*policyv1.PodDisruptionBudget{}, map[string]*networkingv1.NetworkPolicy{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
		case *corev1.Service:
			m.services[o.Name] = o
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
		case *corev1.ServiceAccount:
			m.accounts[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			m.pdbs[o.Name] = o
		case *networkingv1.NetworkPolicy:
			m.netpols[o.Name] = o
		default:
			t.Errorf("unexpected kind %T", o)
		}
	}
	return m
}

func TestKubernetesManifests(t *testing.T) {
	objs, err := decodeManifests(kubeDecoder(t), readDir(t, "../kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	m := index(t, objs)
	for _, problem := range checkKubernetes(m) {
		t.Error(problem)
	}
}

// checkKubernetes returns what does not fit together in the manifests.
func checkKubernetes(m manifests) []string {
	var p []string
	bad := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }
	d := m.deployments["takos-broker"]
	if d == nil {
		return []string{"no Deployment takos-broker"}
	}
	pod := d.Spec.Template
	podLabels := labels.Set(pod.Labels)
	if sel, err := metaSelector(d.Spec.Selector); err != nil || !sel.Matches(podLabels) {
		bad("the Deployment's selector does not match its pod labels (%v)", err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		bad("the broker Deployment should run at least 2 replicas (with the shared Redis)")
	}
	checkPodSecurity(bad, "takos-broker", pod.Spec)
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		bad("the broker pod mounts a Kubernetes API token it never uses")
	}
	if sa := pod.Spec.ServiceAccountName; sa != "" && m.accounts[sa] == nil {
		bad("the pod runs as ServiceAccount %s, which the manifests do not define", sa)
	}
	if len(pod.Spec.Containers) != 1 {
		bad("the broker pod should have one container, has %d", len(pod.Spec.Containers))
		return p
	}
	c := pod.Spec.Containers[0]
	checkBrokerContainer(bad, c, "a Secret")
	port := containerPort(c, "http")
	if port == 0 {
		bad("the broker container has no port named http")
	}
	checkProbe(bad, "readiness", c.ReadinessProbe, "/readyz", c)
	checkProbe(bad, "liveness", c.LivenessProbe, "/healthz", c)
	checkContainerSecurity(bad, c)
	// --policy PATH must be a file the ConfigMap volume puts there.
	policyPath := flagValue(c.Args, "--policy")
	if policyPath == "" {
		bad("the container's args have no --policy")
	} else if !policyMounted(m, pod.Spec, c, policyPath) {
		bad("--policy %s is not a key of a mounted ConfigMap", policyPath)
	}
	if svc := m.services["takos-broker"]; svc == nil {
		bad("no Service takos-broker")
	} else {
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) || len(svc.Spec.Selector) == 0 {
			bad("the Service's selector does not match the broker's pods")
		}
		for _, sp := range svc.Spec.Ports {
			if sp.TargetPort.String() != "http" && sp.TargetPort.IntValue() != int(port) {
				bad("the Service's targetPort %s is not the container's port", sp.TargetPort.String())
			}
		}
	}
	if pdb := m.pdbs["takos-broker"]; pdb == nil {
		bad("no PodDisruptionBudget takos-broker")
	} else {
		if sel, err := metaSelector(pdb.Spec.Selector); err != nil || !sel.Matches(podLabels) {
			bad("the PodDisruptionBudget's selector does not match the broker's pods")
		}
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || d.Spec.Replicas == nil || pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
			bad("the PodDisruptionBudget should keep at least one replica and allow one to be evicted")
		}
	}
	// The Redis the replicas share: its Service selects it, only the
	// broker's pods may reach it, and its password comes from a Secret.
	if r := m.deployments["takos-broker-redis"]; r != nil {
		checkPodSecurity(bad, "takos-broker-redis", r.Spec.Template.Spec)
		for _, rc := range r.Spec.Template.Spec.Containers {
			checkContainerSecurity(bad, rc)
		}
		rl := labels.Set(r.Spec.Template.Labels)
		if svc := m.services["takos-broker-redis"]; svc == nil || !labels.SelectorFromSet(svc.Spec.Selector).Matches(rl) {
			bad("no Service selects the Redis pods")
		}
		np := m.netpols["takos-broker-redis"]
		if np == nil {
			bad("no NetworkPolicy limits who reaches Redis")
		} else if sel, err := metaSelector(&np.Spec.PodSelector); err != nil || !sel.Matches(rl) || len(np.Spec.Ingress) != 1 ||
			len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].PodSelector == nil {
			bad("the NetworkPolicy should select the Redis pods and admit one pod selector")
		} else if from, err := metaSelector(np.Spec.Ingress[0].From[0].PodSelector); err != nil || !from.Matches(podLabels) {
			bad("the NetworkPolicy does not admit the broker's pods to Redis")
		}
	}
	return p
}

// checkBrokerContainer checks what every platform's broker container
// needs: it runs broker; the credential and the Redis URL (with its
// password) come from secretStore (valueFrom.secretKeyRef), never from a
// literal value in the manifest; the control plane and the broker's own
// URL are https.
func checkBrokerContainer(bad func(string, ...any), c corev1.Container, secretStore string) {
	if len(c.Args) == 0 || c.Args[0] != "broker" {
		bad("the container's args should start with broker: %q", c.Args)
	}
	for _, name := range []string{"TAKOS_BROKER_TOKEN", "TAKOS_BROKER_REDIS_URL"} {
		e := envVar(c.Env, name)
		switch {
		case e == nil:
			bad("the broker container has no %s", name)
		case e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil:
			bad("%s must come from %s (valueFrom.secretKeyRef), not a literal value", name, secretStore)
		}
	}
	for _, name := range []string{"TAKOS_API_URL", "TAKOS_BROKER_URL"} {
		if e := envVar(c.Env, name); e == nil || !strings.HasPrefix(e.Value, "https://") {
			bad("%s must be an https URL", name)
		}
	}
}

func metaSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, errors.New("no selector")
	}
	return metav1.LabelSelectorAsSelector(s)
}

func envVar(env []corev1.EnvVar, name string) *corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func checkProbe(bad func(string, ...any), what string, p *corev1.Probe, path string, c corev1.Container) {
	switch {
	case p == nil:
		bad("the broker container has no %s probe", what)
	case p.HTTPGet == nil || p.HTTPGet.Path != path:
		bad("the %s probe should GET %s", what, path)
	case p.HTTPGet.Port.String() != "http" && p.HTTPGet.Port.IntValue() != int(containerPort(c, "http")):
		bad("the %s probe's port %s is not the container's", what, p.HTTPGet.Port.String())
	}
}

func checkPodSecurity(bad func(string, ...any), name string, spec corev1.PodSpec) {
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		bad("%s: the pod must run as a non-root uid (runAsNonRoot, runAsUser)", name)
	}
	if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		bad("%s: the pod should use the RuntimeDefault seccomp profile", name)
	}
}

func checkContainerSecurity(bad func(string, ...any), c corev1.Container) {
	sc := c.SecurityContext
	switch {
	case sc == nil:
		bad("container %s has no securityContext", c.Name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		bad("container %s: the root file system must be read-only", c.Name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		bad("container %s: allowPrivilegeEscalation must be false", c.Name)
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
		bad("container %s: drop ALL capabilities and add none", c.Name)
	}
}

// policyMounted reports whether path is a key of a ConfigMap mounted in c.
func policyMounted(m manifests, spec corev1.PodSpec, c corev1.Container, path string) bool {
	for _, vm := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			cm := m.configMaps[v.ConfigMap.Name]
			if cm == nil {
				return false
			}
			for _, it := range v.ConfigMap.Items {
				if it.Path == rel {
					_, ok := cm.Data[it.Key]
					return ok
				}
			}
			if len(v.ConfigMap.Items) == 0 {
				_, ok := cm.Data[rel]
				return ok
			}
		}
	}
	return false
}

// TestKubernetesCheckCatches: the checks fail on the mistakes they are
// for; a check that cannot fail proves nothing.
func TestKubernetesCheckCatches(t *testing.T) {
	files := readDir(t, "../kubernetes")
	dec := kubeDecoder(t)
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "      enableServiceLinks: false\n      # In-flight", "      enableServiceLinks: false\n      terminationGracePeriod: 15\n      # In-flight", `unknown field "spec.template.spec.terminationGracePeriod"`},
		{"field in the wrong case", "  revisionHistoryLimit: 3", "  RevisionHistoryLimit: 3", `unknown field "spec.RevisionHistoryLimit"`},
		{"duplicate field", "  revisionHistoryLimit: 3", "  revisionHistoryLimit: 3\n  revisionHistoryLimit: 4", `"revisionHistoryLimit" already set`},
		{"wrong type", "  replicas: 2", `  replicas: "2"`, "cannot unmarshal string"},
		{"selector mismatch", "  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: takos-broker", "  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: takos-brokr", "PodDisruptionBudget's selector"},
		{"credential as a literal", "            - name: TAKOS_BROKER_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: takos-broker\n                  key: TAKOS_BROKER_TOKEN", "            - name: TAKOS_BROKER_TOKEN\n              value: tak_pat_x", "TAKOS_BROKER_TOKEN must come from a Secret"},
		{"readiness on healthz", "              path: /readyz", "              path: /healthz", "readiness probe should GET /readyz"},
		{"writable root", "            readOnlyRootFilesystem: true\n            privileged: false\n            capabilities:\n              drop: [\"ALL\"]\n      volumes:\n        - name: policy", "            readOnlyRootFilesystem: false\n            privileged: false\n            capabilities:\n              drop: [\"ALL\"]\n      volumes:\n        - name: policy", "root file system must be read-only"},
		{"policy not mounted", `"--policy", "/etc/takos-broker/policy.yml"`, `"--policy", "/etc/takos-broker/policy.yaml"`, "is not a key of a mounted ConfigMap"},
		{"one replica", "  replicas: 2", "  replicas: 1", "at least 2 replicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mutated := map[string][]byte{}
			hit := false
			for name, b := range files {
				if bytes.Contains(b, []byte(tc.old)) {
					b, hit = bytes.Replace(b, []byte(tc.old), []byte(tc.new), 1), true
				}
				mutated[name] = b
			}
			if !hit {
				t.Fatalf("the manifests do not contain %q; update the test", tc.old)
			}
			objs, err := decodeManifests(dec, mutated)
			var problems []string
			if err != nil {
				problems = []string{err.Error()}
			} else {
				problems = checkKubernetes(index(t, objs))
			}
			if !slices.ContainsFunc(problems, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("mutation %s: problems %q, want one containing %q", tc.name, problems, tc.want)
			}
		})
	}
}
