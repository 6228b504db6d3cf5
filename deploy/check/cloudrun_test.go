package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const knativeCRD = "testdata/knative-serving-service-crd.yaml"

// knativeSchema is the v1 schema of Knative's Service, as an API server
// with Knative installed holds it.
type knativeSchema struct {
	props      *apiextensions.JSONSchemaProps
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
}

func loadKnativeSchema(t *testing.T) *knativeSchema {
	t.Helper()
	b, err := os.ReadFile(knativeCRD)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	obj, _, err := dec.Decode(b, nil, nil)
	if err != nil {
		t.Fatalf("%s: %v", knativeCRD, err)
	}
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok || crd.Spec.Group != "serving.knative.dev" || crd.Spec.Names.Kind != "Service" {
		t.Fatalf("%s is not the CRD of serving.knative.dev Service", knativeCRD)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != "v1" || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		var props apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &props, nil); err != nil {
			t.Fatal(err)
		}
		s, err := structuralschema.NewStructural(&props)
		if err != nil {
			t.Fatal(err)
		}
		if errs := structuralschema.ValidateStructural(field.NewPath("openAPIV3Schema"), s); len(errs) > 0 {
			t.Fatalf("the vendored schema is not structural: %v", errs.ToAggregate())
		}
		val, _, err := validation.NewSchemaValidator(&props)
		if err != nil {
			t.Fatal(err)
		}
		return &knativeSchema{props: &props, structural: s, validator: val}
	}
	t.Fatalf("%s has no v1 schema", knativeCRD)
	return nil
}

// validate does to a Knative Service what the API server does on create
// with strict field validation: strict YAML and JSON decoding (duplicate
// keys are errors), every field unknown to the schema or to ObjectMeta an
// error, then the schema's validation.
func (k *knativeSchema) validate(doc []byte) (map[string]any, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	strictErrs, err := sigsjson.UnmarshalStrict(js, &obj, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil, err
	}
	errs := append([]error(nil), strictErrs...)
	if obj["apiVersion"] != "serving.knative.dev/v1" || obj["kind"] != "Service" {
		return nil, fmt.Errorf("apiVersion %v, kind %v: want serving.knative.dev/v1 Service", obj["apiVersion"], obj["kind"])
	}
	for _, p := range pruning.PruneWithOptions(runtime.DeepCopyJSON(obj), k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		errs = append(errs, fmt.Errorf("unknown field %q", p))
	}
	ferr, unknown := objectmeta.CoerceWithOptions(nil, runtime.DeepCopyJSON(obj), k.structural, true, objectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if ferr != nil {
		errs = append(errs, ferr)
	}
	for _, p := range unknown {
		errs = append(errs, fmt.Errorf("unknown field %q", p))
	}
	// The revision template's metadata is free-form in the schema
	// (x-kubernetes-preserve-unknown-fields); Knative reads it as
	// ObjectMeta, so it is held to ObjectMeta's fields.
	if tm, ok := dig(obj, "spec", "template", "metadata").(map[string]any); ok {
		b, _ := yaml.Marshal(tm)
		var meta struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			Name        string            `json:"name"`
		}
		if err := yaml.UnmarshalStrict(b, &meta); err != nil {
			errs = append(errs, fmt.Errorf("spec.template.metadata: %w", err))
		}
	}
	for _, e := range validation.ValidateCustomResource(nil, obj, k.validator) {
		errs = append(errs, e)
	}
	for _, e := range objectmeta.Validate(context.Background(), nil, obj, k.structural, true) {
		errs = append(errs, e)
	}
	return obj, errors.Join(errs...)
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestCloudRunService(t *testing.T) {
	k := loadKnativeSchema(t)
	doc, err := os.ReadFile("../cloudrun/service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := k.validate(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, problem := range checkCloudRun(obj) {
		t.Error(problem)
	}
}

// checkCloudRun checks what the schema cannot: the broker's container,
// its secrets, probes and policy mount.
func checkCloudRun(obj map[string]any) []string {
	var p []string
	bad := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }
	// The revision's pod spec is a Kubernetes PodSpec with Knative's
	// fields added; decoded as one, it gives typed access.
	js, _ := yaml.Marshal(dig(obj, "spec", "template", "spec"))
	var spec struct {
		corev1.PodSpec       `json:",inline"`
		ContainerConcurrency *int64 `json:"containerConcurrency"`
		TimeoutSeconds       *int64 `json:"timeoutSeconds"`
	}
	if err := yaml.Unmarshal(js, &spec); err != nil {
		return []string{err.Error()}
	}
	if len(spec.Containers) != 1 {
		return []string{fmt.Sprintf("want one container, have %d", len(spec.Containers))}
	}
	c := spec.Containers[0]
	checkBrokerContainer(bad, c, "Secret Manager")
	if c.StartupProbe == nil || c.StartupProbe.HTTPGet == nil || c.StartupProbe.HTTPGet.Path != "/readyz" {
		bad("the startup probe should GET /readyz")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		bad("the liveness probe should GET /healthz")
	}
	policy := flagValue(c.Args, "--policy")
	mounted := false
	for _, vm := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(policy, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == vm.Name && v.Secret != nil && slices.ContainsFunc(v.Secret.Items, func(it corev1.KeyToPath) bool { return it.Path == rel }) {
				mounted = true
			}
		}
	}
	if !mounted {
		bad("--policy %q is not a file of a mounted secret volume", policy)
	}
	ann, _ := dig(obj, "spec", "template", "metadata", "annotations").(map[string]any)
	if ann["autoscaling.knative.dev/maxScale"] == "1" || ann["autoscaling.knative.dev/maxScale"] == nil {
		bad("the template should allow several instances (autoscaling.knative.dev/maxScale): the state is in Redis")
	}
	return p
}

// TestCloudRunCheckCatches: the validation fails on the mistakes it is for.
func TestCloudRunCheckCatches(t *testing.T) {
	k := loadKnativeSchema(t)
	doc, err := os.ReadFile("../cloudrun/service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown spec field", "      containerConcurrency: 80", "      containerConcurency: 80", `unknown field "spec.template.spec.containerConcurency"`},
		{"unknown container field", "          args: [", "          arguments: [\"x\"]\n          args: [", `unknown field "spec.template.spec.containers[0].arguments"`},
		{"unknown metadata field", "  name: takos-broker\n  labels:", "  name: takos-broker\n  label: x\n  labels:", `unknown field "metadata.label"`},
		{"unknown template metadata field", "      annotations:\n        # Scales", "      annotation: {}\n      annotations:\n        # Scales", `unknown field "annotation"`},
		{"duplicate key", "      timeoutSeconds: 60", "      timeoutSeconds: 60\n      timeoutSeconds: 30", `"timeoutSeconds" already set`},
		{"wrong type", "      containerConcurrency: 80", `      containerConcurrency: "80"`, "containerConcurrency"},
		{"credential as a literal", "            - name: TAKOS_BROKER_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: takos-broker-token\n                  key: latest", "            - name: TAKOS_BROKER_TOKEN\n              value: tak_pat_x", "TAKOS_BROKER_TOKEN must come from Secret Manager"},
		{"one instance", `autoscaling.knative.dev/maxScale: "10"`, `autoscaling.knative.dev/maxScale: "1"`, "several instances"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(doc, []byte(tc.old)) {
				t.Fatalf("service.yaml does not contain %q; update the test", tc.old)
			}
			obj, err := k.validate(bytes.Replace(doc, []byte(tc.old), []byte(tc.new), 1))
			var problems []string
			if err != nil {
				problems = strings.Split(err.Error(), "\n")
			} else {
				problems = checkCloudRun(obj)
			}
			if !slices.ContainsFunc(problems, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
}
