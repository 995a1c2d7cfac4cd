// Command k8s-validate reads a multi-document YAML stream (the output of `helm template`) and
// decodes every object strictly into the Go types the Kubernetes API server and the Prometheus
// Operator use. A field the type does not know (a typo such as `readinessProbes`), a field given
// twice, a value of the wrong type, or a kind the checker has no type for fails the run; so does
// a name, label or annotation the API server would refuse.
//
// Usage: helm template ... | go run . [-]   or   go run . file.yaml...
//
// It prints one line per object it accepted ("ok <apiVersion> <kind> <name>") and one line per
// problem on stderr, and exits 1 when there was any problem, 2 when it could not read its input.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// object is what every supported type offers: its metadata, for the checks common to all kinds.
type object interface {
	metav1.Object
}

// nameRule says which DNS rule the API server applies to an object's name.
type nameRule func(string) []string

type kindInfo struct {
	newObject func() object
	name      nameRule
	// extra runs kind-specific checks the API server would also make, on the decoded object.
	extra func(object) []string
}

// kinds lists every apiVersion/kind the chart may render. A kind missing here fails the run, so
// a new template forces a decision about how to validate it.
var kinds = map[string]kindInfo{
	"apps/v1/Deployment":                      {func() object { return &appsv1.Deployment{} }, validation.IsDNS1123Subdomain, checkDeployment},
	"v1/Service":                              {func() object { return &corev1.Service{} }, validation.IsDNS1035Label, checkService},
	"v1/Secret":                               {func() object { return &corev1.Secret{} }, validation.IsDNS1123Subdomain, nil},
	"v1/ConfigMap":                            {func() object { return &corev1.ConfigMap{} }, validation.IsDNS1123Subdomain, checkConfigMap},
	"v1/ServiceAccount":                       {func() object { return &corev1.ServiceAccount{} }, validation.IsDNS1123Subdomain, nil},
	"v1/PersistentVolumeClaim":                {func() object { return &corev1.PersistentVolumeClaim{} }, validation.IsDNS1123Subdomain, nil},
	"v1/Pod":                                  {func() object { return &corev1.Pod{} }, validation.IsDNS1123Subdomain, nil},
	"networking.k8s.io/v1/Ingress":            {func() object { return &networkingv1.Ingress{} }, validation.IsDNS1123Subdomain, nil},
	"networking.k8s.io/v1/NetworkPolicy":      {func() object { return &networkingv1.NetworkPolicy{} }, validation.IsDNS1123Subdomain, nil},
	"policy/v1/PodDisruptionBudget":           {func() object { return &policyv1.PodDisruptionBudget{} }, validation.IsDNS1123Subdomain, nil},
	"autoscaling/v2/HorizontalPodAutoscaler":  {func() object { return &autoscalingv2.HorizontalPodAutoscaler{} }, validation.IsDNS1123Subdomain, checkHorizontalPodAutoscaler},
	"monitoring.coreos.com/v1/ServiceMonitor": {func() object { return &monitoringv1.ServiceMonitor{} }, validation.IsDNS1123Subdomain, nil},
	"monitoring.coreos.com/v1/PrometheusRule": {func() object { return &monitoringv1.PrometheusRule{} }, validation.IsDNS1123Subdomain, nil},
}

func main() {
	inputs, err := openInputs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-validate:", err)
		os.Exit(2)
	}
	problems := 0
	accepted := 0
	for _, in := range inputs {
		a, p, err := validateStream(in.name, in.reader, os.Stdout, os.Stderr)
		accepted += a
		problems += p
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", in.name, err)
			os.Exit(2)
		}
	}
	if problems > 0 {
		fmt.Fprintf(os.Stderr, "k8s-validate: %d problem(s), %d object(s) accepted\n", problems, accepted)
		os.Exit(1)
	}
	if accepted == 0 {
		fmt.Fprintln(os.Stderr, "k8s-validate: no objects in the input")
		os.Exit(1)
	}
}

type input struct {
	name   string
	reader io.Reader
}

func openInputs(args []string) ([]input, error) {
	if len(args) == 0 || (len(args) == 1 && args[0] == "-") {
		return []input{{"<stdin>", os.Stdin}}, nil
	}
	var out []input
	for _, path := range args {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		out = append(out, input{path, f})
	}
	return out, nil
}

// validateStream checks every document of one YAML stream, writing accepted objects to ok and
// problems to bad. It returns the counts, and an error only when the stream cannot be read.
func validateStream(name string, r io.Reader, ok io.Writer, bad io.Writer) (accepted int, problems int, err error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for index := 0; ; index++ {
		doc, readErr := reader.Read()
		if errors.Is(readErr, io.EOF) {
			return accepted, problems, nil
		}
		if readErr != nil {
			return accepted, problems, readErr
		}
		label, errs := validateDocument(doc)
		if label == "" && len(errs) == 0 {
			continue // an empty document, as Helm leaves for a disabled template
		}
		if label == "" {
			label = fmt.Sprintf("document %d", index)
		}
		if len(errs) == 0 {
			fmt.Fprintf(ok, "ok %s\n", label)
			accepted++
			continue
		}
		for _, e := range errs {
			fmt.Fprintf(bad, "%s: %s: %s\n", name, label, e)
			problems++
		}
	}
}

// validateDocument returns a label naming the object ("apps/v1 Deployment x") and its problems.
// An empty or comment-only document yields an empty label and no problems.
func validateDocument(doc []byte) (string, []string) {
	if len(bytes.TrimSpace(stripComments(doc))) == 0 {
		return "", nil
	}
	// YAMLToJSONStrict refuses duplicate keys, which plain YAML decoding would silently merge.
	jsonDoc, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return "", []string{"not valid YAML: " + err.Error()}
	}
	if string(bytes.TrimSpace(jsonDoc)) == "null" {
		return "", nil
	}
	var typeMeta metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(jsonDoc, &typeMeta); err != nil {
		return "", []string{"not a Kubernetes object: " + err.Error()}
	}
	var meta struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = sigsjson.UnmarshalCaseSensitivePreserveInts(jsonDoc, &meta)
	label := strings.TrimSpace(fmt.Sprintf("%s %s %s", typeMeta.APIVersion, typeMeta.Kind, meta.Metadata.Name))

	info, known := kinds[typeMeta.APIVersion+"/"+typeMeta.Kind]
	if !known {
		return label, []string{fmt.Sprintf("no type known for apiVersion %q kind %q (add it to the checker's kinds table)", typeMeta.APIVersion, typeMeta.Kind)}
	}
	obj := info.newObject()
	// sigs.k8s.io/json decodes as the API server does: field names are case-sensitive, and the
	// strict options report unknown and duplicate fields instead of dropping them.
	strictErrs, err := sigsjson.UnmarshalStrict(jsonDoc, obj, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return label, []string{"does not decode: " + err.Error()}
	}
	var problems []string
	for _, e := range strictErrs {
		problems = append(problems, e.Error())
	}
	problems = append(problems, checkMeta(obj, info.name)...)
	if info.extra != nil {
		problems = append(problems, info.extra(obj)...)
	}
	return label, problems
}

// stripComments drops whole-line comments, so a document holding only Helm's "# Source:" line
// counts as empty.
func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func checkMeta(obj object, rule nameRule) []string {
	var problems []string
	if obj.GetName() == "" {
		problems = append(problems, "metadata.name: required")
	} else {
		for _, msg := range rule(obj.GetName()) {
			problems = append(problems, fmt.Sprintf("metadata.name %q: %s", obj.GetName(), msg))
		}
	}
	if obj.GetNamespace() != "" {
		for _, msg := range validation.IsDNS1123Label(obj.GetNamespace()) {
			problems = append(problems, fmt.Sprintf("metadata.namespace %q: %s", obj.GetNamespace(), msg))
		}
	}
	problems = append(problems, fieldErrors(metavalidation.ValidateLabels(obj.GetLabels(), field.NewPath("metadata", "labels")))...)
	problems = append(problems, fieldErrors(apivalidation.ValidateAnnotations(obj.GetAnnotations(), field.NewPath("metadata", "annotations")))...)
	return problems
}

func fieldErrors(list field.ErrorList) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, e.Error())
	}
	return out
}

// checkHorizontalPodAutoscaler makes the API server's checks on the replica bounds and the target.
func checkHorizontalPodAutoscaler(o object) []string {
	h := o.(*autoscalingv2.HorizontalPodAutoscaler)
	var problems []string
	if h.Spec.MaxReplicas < 1 {
		problems = append(problems, "spec.maxReplicas: must be at least 1")
	}
	if h.Spec.MinReplicas != nil && (*h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas) {
		problems = append(problems, "spec.minReplicas: must be between 1 and spec.maxReplicas")
	}
	if h.Spec.ScaleTargetRef.Kind == "" || h.Spec.ScaleTargetRef.Name == "" {
		problems = append(problems, "spec.scaleTargetRef: kind and name are required")
	}
	return problems
}

func checkDeployment(o object) []string {
	d := o.(*appsv1.Deployment)
	var problems []string
	if d.Spec.Selector == nil {
		return []string{"spec.selector: required"}
	}
	problems = append(problems, fieldErrors(metavalidation.ValidateLabelSelector(d.Spec.Selector, metavalidation.LabelSelectorValidationOptions{}, field.NewPath("spec", "selector")))...)
	problems = append(problems, fieldErrors(metavalidation.ValidateLabels(d.Spec.Template.Labels, field.NewPath("spec", "template", "metadata", "labels")))...)
	problems = append(problems, fieldErrors(apivalidation.ValidateAnnotations(d.Spec.Template.Annotations, field.NewPath("spec", "template", "metadata", "annotations")))...)
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		problems = append(problems, "spec.selector: "+err.Error())
	} else if selector.Empty() || !selector.Matches(labels.Set(d.Spec.Template.Labels)) {
		problems = append(problems, "spec.selector: does not match spec.template.metadata.labels")
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		problems = append(problems, "spec.template.spec.containers: required")
	}
	for i, c := range d.Spec.Template.Spec.Containers {
		path := fmt.Sprintf("spec.template.spec.containers[%d]", i)
		if c.Name == "" || c.Image == "" {
			problems = append(problems, path+": name and image are required")
		}
		portNames := map[string]bool{}
		for j, p := range c.Ports {
			if p.Name == "" {
				continue
			}
			for _, msg := range validation.IsValidPortName(p.Name) {
				problems = append(problems, fmt.Sprintf("%s.ports[%d].name %q: %s", path, j, p.Name, msg))
			}
			portNames[p.Name] = true
		}
		for probeName, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
			if probe == nil || probe.HTTPGet == nil {
				continue
			}
			port := probe.HTTPGet.Port
			if port.StrVal != "" && !portNames[port.StrVal] {
				problems = append(problems, fmt.Sprintf("%s.%s.httpGet.port %q: no container port has this name", path, probeName, port.StrVal))
			}
		}
		for j, env := range c.Env {
			if env.Value != "" && env.ValueFrom != nil {
				problems = append(problems, fmt.Sprintf("%s.env[%d] %s: value and valueFrom are exclusive", path, j, env.Name))
			}
		}
	}
	return problems
}

func checkService(o object) []string {
	s := o.(*corev1.Service)
	var problems []string
	if len(s.Spec.Ports) == 0 {
		problems = append(problems, "spec.ports: required")
	}
	for i, p := range s.Spec.Ports {
		if len(s.Spec.Ports) > 1 && p.Name == "" {
			problems = append(problems, fmt.Sprintf("spec.ports[%d].name: required when a Service has several ports", i))
		}
		if p.Port < 1 || p.Port > 65535 {
			problems = append(problems, fmt.Sprintf("spec.ports[%d].port %d: must be 1-65535", i, p.Port))
		}
	}
	return problems
}

func checkConfigMap(o object) []string {
	c := o.(*corev1.ConfigMap)
	var problems []string
	for key := range c.Data {
		for _, msg := range validation.IsConfigMapKey(key) {
			problems = append(problems, fmt.Sprintf("data key %q: %s", key, msg))
		}
	}
	return problems
}
