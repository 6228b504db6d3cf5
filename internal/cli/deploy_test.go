package cli

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/internal/broker"
)

// deployTemplate is what a template in deploy/ gives the broker: its
// arguments, the environment variables it sets, and the policies it holds.
type deployTemplate struct {
	args     []string
	env      []string
	policies []string
}

// containerTemplate reads the broker container of a Kubernetes or Cloud
// Run YAML file (every document), and the policies of its ConfigMaps.
func containerTemplate(t *testing.T, path string) deployTemplate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out deployTemplate
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args []string `yaml:"args"`
							Env  []struct {
								Name string `yaml:"name"`
							} `yaml:"env"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.Kind == "ConfigMap" {
			if p, ok := doc.Data["policy.yml"]; ok {
				out.policies = append(out.policies, p)
			}
		}
		for _, c := range doc.Spec.Template.Spec.Containers {
			if len(c.Args) > 0 && c.Args[0] == "broker" {
				out.args = c.Args
				for _, e := range c.Env {
					out.env = append(out.env, e.Name)
				}
			}
		}
	}
	if out.args == nil {
		t.Fatalf("%s has no broker container", path)
	}
	return out
}

// unitTemplate reads the systemd unit's ExecStart and the variables its
// comments list for the EnvironmentFile.
func unitTemplate(t *testing.T, path string) deployTemplate {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out deployTemplate
	envLine := regexp.MustCompile(`^#\s+(TAKOS_[A-Z_]+)=`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if cmd, ok := strings.CutPrefix(line, "ExecStart="); ok {
			fields := strings.Fields(cmd)
			out.args = fields[1:]
		}
		if m := envLine.FindStringSubmatch(line); m != nil {
			out.env = append(out.env, m[1])
		}
	}
	if out.args == nil {
		t.Fatalf("%s has no ExecStart", path)
	}
	return out
}

// TestDeployTemplatesMatchTheBroker: the broker flags each template passes
// are flags of takos-apply broker, the environment variables it sets are
// ones the broker reads, and a policy it holds loads cleanly.
func TestDeployTemplatesMatchTheBroker(t *testing.T) {
	src, err := os.ReadFile("broker.go")
	if err != nil {
		t.Fatal(err)
	}
	for path, tmpl := range map[string]deployTemplate{
		"../../deploy/kubernetes/broker.yaml":       containerTemplate(t, "../../deploy/kubernetes/broker.yaml"),
		"../../deploy/cloudrun/service.yaml":        containerTemplate(t, "../../deploy/cloudrun/service.yaml"),
		"../../deploy/systemd/takos-broker.service": unitTemplate(t, "../../deploy/systemd/takos-broker.service"),
	} {
		t.Run(path, func(t *testing.T) {
			// --help after the template's flags: every flag before it is
			// parsed (an unknown one fails), then the broker stops.
			code, _, stderr := run(t, nil, append(tmpl.args, "--help")...)
			if strings.Contains(stderr, "not defined") || strings.Contains(stderr, "invalid value") || code == ExitFailure {
				t.Errorf("takos-apply %s: exit %d\n%s", strings.Join(tmpl.args, " "), code, stderr)
			}
			if len(tmpl.env) == 0 {
				t.Error("the template sets no environment variable")
			}
			for _, name := range tmpl.env {
				if !bytes.Contains(src, []byte(`"`+name+`"`)) && name != EnvBrokerToken {
					t.Errorf("the template sets %s, which takos-apply broker does not read", name)
				}
			}
			for _, p := range tmpl.policies {
				pol, diags, err := broker.LoadPolicy("policy.yml", []byte(p))
				if err != nil || pol == nil || len(diags) > 0 {
					t.Errorf("the template's policy does not load cleanly: %v %v", diags, err)
				}
			}
		})
	}
}
