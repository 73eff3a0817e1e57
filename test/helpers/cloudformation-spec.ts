import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec'
import { isObject, type CfnTemplate, type CfnValue } from 'arc-plugin-sqs-queues/template'

/**
 * A deployable template checked against AWS's own resource specification:
 * `@aws-cdk/aws-service-spec`, the database the AWS CDK generates its L1
 * constructs from, built from CloudFormation's registry schemas. Every
 * resource type, every property name (nested ones too) and every `Fn::GetAtt`
 * attribute must exist there, and every value must have the shape the
 * property takes (string, number, integer, boolean, list, map, object of a
 * given type, or an intrinsic function standing for one).
 *
 * SAM's `AWS::Serverless::*` types are a transform, not CloudFormation types,
 * and the database's SAM part is older than SAM (its SQS event has no
 * ScalingConfig, its function no LoggingConfig, its HttpApi spells
 * AccessLogSettings as AccessLogSetting). So a SAM property is checked
 * against what SAM turns it into, per SAM's documentation: the
 * `AWS::Lambda::Function` property of the same name, an SQS event's
 * properties against `AWS::Lambda::EventSourceMapping`, an HttpApi's against
 * `AWS::ApiGatewayV2::Stage` and `::Api`. Only what SAM keeps for itself
 * (CodeUri, an HttpApi event, the API's Auth...) is checked against the
 * database's SAM part.
 */

/** A property's type as the database states it. */
interface SpecType {
  type: string
  element?: SpecType
  types?: SpecType[]
  reference?: { $ref: string }
}
interface SpecProperty {
  type: SpecType
  required?: boolean
}
interface SpecResource {
  properties: Record<string, SpecProperty>
  attributes: Record<string, unknown>
}

/** Where a SAM property ends up: a CloudFormation type's property (its path, for one nested in another), or SAM's own part of the database. */
type SamTarget = { cfn: string; path: string[] } | { sam: true } | { events: true }

const cfn = (type: string, ...path: string[]): SamTarget => ({ cfn: type, path })
const SAM_OWN: SamTarget = { sam: true }

/**
 * What SAM does with each property of the SAM types this project uses. A
 * function property not listed passes through to AWS::Lambda::Function under
 * its own name (SAM copies Handler, Runtime, Timeout, Environment,
 * LoggingConfig...); an HttpApi property not listed is refused, so that a new
 * one is looked up in SAM's documentation before it is trusted.
 */
const SAM: Record<string, { passThrough?: string; properties: Record<string, SamTarget> }> = {
  'AWS::Serverless::Function': {
    passThrough: 'AWS::Lambda::Function',
    properties: {
      // SAM packages it and writes Code.
      CodeUri: SAM_OWN,
      // `Tracing: Active` becomes TracingConfig: { Mode: Active }.
      Tracing: cfn('AWS::Lambda::Function', 'TracingConfig', 'Mode'),
      Events: { events: true },
    },
  },
  'AWS::Serverless::HttpApi': {
    properties: {
      StageName: cfn('AWS::ApiGatewayV2::Stage', 'StageName'),
      DefaultRouteSettings: cfn('AWS::ApiGatewayV2::Stage', 'DefaultRouteSettings'),
      RouteSettings: cfn('AWS::ApiGatewayV2::Stage', 'RouteSettings'),
      AccessLogSettings: cfn('AWS::ApiGatewayV2::Stage', 'AccessLogSettings'),
      StageVariables: cfn('AWS::ApiGatewayV2::Stage', 'StageVariables'),
      // With a DefinitionBody, SAM writes CORS into it as x-amazon-apigateway-cors, which takes the Api's Cors shape.
      CorsConfiguration: cfn('AWS::ApiGatewayV2::Api', 'CorsConfiguration'),
      DefinitionBody: cfn('AWS::ApiGatewayV2::Api', 'Body'),
      Description: cfn('AWS::ApiGatewayV2::Api', 'Description'),
      DisableExecuteApiEndpoint: cfn('AWS::ApiGatewayV2::Api', 'DisableExecuteApiEndpoint'),
      FailOnWarnings: cfn('AWS::ApiGatewayV2::Api', 'FailOnWarnings'),
      Auth: SAM_OWN,
      Domain: SAM_OWN,
      Tags: SAM_OWN,
    },
  },
}

/** SAM event sources: the CloudFormation type an event's properties go to (and the ones SAM renames), or SAM's own event type in the database. */
const SAM_EVENTS: Record<string, { cfn: string; renamed: Record<string, string> } | { samDefinition: string }> = {
  SQS: { cfn: 'AWS::Lambda::EventSourceMapping', renamed: { Queue: 'EventSourceArn' } },
  // A route in the API's OpenAPI body and a Lambda permission: no one CloudFormation type.
  HttpApi: { samDefinition: 'HttpApiEvent' },
}

/** What a GetAtt on a SAM resource reads: the resource SAM makes of it. */
const SAM_GETATT: Record<string, string> = { 'AWS::Serverless::Function': 'AWS::Lambda::Function', 'AWS::Serverless::HttpApi': 'AWS::ApiGatewayV2::Api' }

const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'Metadata', 'DeletionPolicy', 'UpdateReplacePolicy', 'UpdatePolicy', 'CreationPolicy'])
/** Architect's note on each function, which the SAM transform drops with the SAM resource. */
const SAM_RESOURCE_KEYS = new Set([...RESOURCE_KEYS, 'ArcMetadata'])
const TEMPLATE_KEYS = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules', 'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs'])
const OUTPUT_KEYS = new Set(['Value', 'Description', 'Export', 'Condition'])
const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::If', 'Fn::ImportValue', 'Fn::FindInMap', 'Fn::Base64', 'Fn::Cidr', 'Fn::GetAZs', 'Fn::Length', 'Fn::ToJsonString', 'Condition'])

const intrinsicOf = (value: CfnValue): string | undefined => {
  if (!isObject(value)) return undefined
  const keys = Object.keys(value)
  return keys.length === 1 && INTRINSICS.has(keys[0]!) ? keys[0] : undefined
}
const describeValue = (value: CfnValue): string => (Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`)

export interface CloudFormationSpec {
  /** Every problem of the template, each naming the resource, the property path and what is wrong; none: it conforms. */
  problems(template: CfnTemplate): string[]
}

/** Loads the database (about half a second, once per process) and returns the checker. */
export async function cloudFormationSpec(): Promise<CloudFormationSpec> {
  const db = await loadAwsServiceSpec()
  // The database's own types live in a package of its own (a dependency's dependency): read through the few fields used here.
  const resourceType = (type: string): SpecResource | undefined => db.lookup('resource', 'cloudFormationType', 'equals', type)[0] as unknown as SpecResource | undefined
  const definition = (ref: string): { name: string; properties: Record<string, SpecProperty> } => db.get('typeDefinition', ref) as unknown as { name: string; properties: Record<string, SpecProperty> }
  const samDefinition = (name: string) => db.all('typeDefinition').find((item) => item.name === name) as unknown as { properties: Record<string, SpecProperty> } | undefined

  return {
    problems(template) {
      const problems: string[] = []
      const resources = template.Resources ?? {}
      for (const key of Object.keys(template)) if (!TEMPLATE_KEYS.has(key)) problems.push(`template: ${key} is not a template section`)

      /** The problems of `value` against `type`, at `where`. */
      function checkValue(value: CfnValue | undefined, type: SpecType, where: string): string[] {
        if (value === undefined) return [`${where}: has no value`]
        const intrinsic = intrinsicOf(value)
        if (intrinsic) return checkIntrinsic(intrinsic, value as Record<string, CfnValue>, where)
        const expect = (ok: boolean, what: string): string[] => (ok ? [] : [`${where}: must be ${what}, is ${describeValue(value)}`])
        switch (type.type) {
          case 'string':
            // CloudFormation turns a number or boolean into its string where a string goes (Architect writes ARC_STATIC_SPA: false).
            return expect(typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean', 'a string')
          case 'date-time':
            return expect(typeof value === 'string', 'a string')
          case 'number':
            return expect(typeof value === 'number' && Number.isFinite(value), 'a number')
          case 'integer':
            return expect(typeof value === 'number' && Number.isInteger(value), 'an integer')
          case 'boolean':
            return expect(typeof value === 'boolean', 'a boolean')
          case 'null':
            return expect(value === null, 'null')
          case 'json': {
            // Free-form (a policy document): its GetAtts still read attributes that must exist.
            const shape = expect(typeof value === 'object' || typeof value === 'string', 'JSON (an object or a string)')
            return [...shape, ...getAttsIn(value, where)]
          }
          case 'tag':
            return checkProperties(value, { Key: { type: { type: 'string' }, required: true }, Value: { type: { type: 'string' }, required: true } }, where, 'a tag')
          case 'array':
            if (!Array.isArray(value)) return expect(false, 'a list')
            return value.flatMap((element, index) => checkValue(element, type.element!, `${where}[${index}]`))
          case 'map':
            if (!isObject(value)) return expect(false, 'a map')
            return Object.entries(value).flatMap(([key, element]) => checkValue(element, type.element!, `${where}.${key}`))
          case 'ref': {
            const def = definition(type.reference!.$ref)
            return checkProperties(value, def.properties, where, def.name)
          }
          case 'union': {
            const tries = type.types!.map((member) => checkValue(value, member, where))
            return tries.some((found) => found.length === 0) ? [] : [`${where}: fits none of its types (${tries.map((found) => found[0]).join('; ')})`]
          }
          default:
            return [`${where}: the specification's type ${type.type} is not known to this check`]
        }
      }

      /** The problems of every Fn::GetAtt anywhere inside a free-form value. */
      function getAttsIn(value: CfnValue, where: string): string[] {
        if (Array.isArray(value)) return value.flatMap((element, index) => getAttsIn(element, `${where}[${index}]`))
        if (!isObject(value)) return []
        if (intrinsicOf(value) === 'Fn::GetAtt') return checkIntrinsic('Fn::GetAtt', value as Record<string, CfnValue>, where)
        return Object.entries(value).flatMap(([key, element]) => getAttsIn(element, `${where}.${key}`))
      }

      /** An object of a named shape: each key a property of it, each required one present. */
      function checkProperties(value: CfnValue, properties: Record<string, SpecProperty>, where: string, shape: string, options: { required?: boolean } = {}): string[] {
        if (!isObject(value)) return [`${where}: must be an object (${shape}), is ${describeValue(value)}`]
        const found: string[] = []
        for (const [key, item] of Object.entries(value)) {
          const property = properties[key]
          if (!property) found.push(`${where}: ${key} is not a property of ${shape}`)
          else found.push(...checkValue(item, property.type, `${where}.${key}`))
        }
        if (options.required !== false) {
          for (const [key, property] of Object.entries(properties)) if (property.required && !(key in value)) found.push(`${where}: lacks ${key}, which ${shape} requires`)
        }
        return found
      }

      /** An intrinsic function's own shape, and a GetAtt's resource and attribute. */
      function checkIntrinsic(name: string, value: Record<string, CfnValue>, where: string): string[] {
        const argument = value[name]!
        if (name === 'Ref') return typeof argument === 'string' ? [] : [`${where}: Ref takes a logical id`]
        if (name === 'Fn::Sub') {
          const ok = typeof argument === 'string' || (Array.isArray(argument) && argument.length === 2 && typeof argument[0] === 'string' && isObject(argument[1]))
          return ok ? [] : [`${where}: Fn::Sub takes a string or [string, variables]`]
        }
        if (name === 'Fn::Join') return Array.isArray(argument) && argument.length === 2 && typeof argument[0] === 'string' ? [] : [`${where}: Fn::Join takes [delimiter, list]`]
        if (name !== 'Fn::GetAtt') return []
        const [target, attribute] = Array.isArray(argument) ? argument : typeof argument === 'string' ? argument.split(/\.(.*)/) : []
        if (typeof target !== 'string' || typeof attribute !== 'string') return [`${where}: Fn::GetAtt takes [logicalId, attribute]`]
        const type = resources[target]?.Type
        if (!type) return [`${where}: Fn::GetAtt names ${target}, which is no resource of the template`]
        const spec = resourceType(SAM_GETATT[type] ?? type)
        return spec && !(attribute in spec.attributes) ? [`${where}: ${type} has no attribute ${attribute} (Fn::GetAtt ${target}.${attribute})`] : []
      }

      /** A property at `path` below a CloudFormation type's property: the innermost property's type. */
      function propertyAt(type: string, path: string[]): SpecProperty | undefined {
        let properties: Record<string, SpecProperty> | undefined = resourceType(type)?.properties
        let property: SpecProperty | undefined
        for (const key of path) {
          property = properties?.[key]
          properties = property?.type.type === 'ref' ? definition(property.type.reference!.$ref).properties : undefined
        }
        return property
      }

      function checkSamEvents(events: CfnValue, where: string): string[] {
        if (!isObject(events)) return [`${where}: must be a map of events`]
        return Object.entries(events).flatMap(([name, event]) => {
          const at = `${where}.${name}`
          if (!isObject(event) || typeof event.Type !== 'string') return [`${at}: an event needs a Type`]
          const extra = Object.keys(event).filter((key) => key !== 'Type' && key !== 'Properties')
          const found = extra.map((key) => `${at}: ${key} is not a key of a SAM event`)
          const target = SAM_EVENTS[event.Type]
          if (!target) return [...found, `${at}: SAM event type ${event.Type} has no mapping in this check (test/helpers/cloudformation-spec.ts)`]
          const properties = event.Properties ?? {}
          if ('samDefinition' in target) {
            const def = samDefinition(target.samDefinition)
            return [...found, ...(def ? checkProperties(properties, def.properties, `${at}.Properties`, `SAM's ${target.samDefinition}`) : [`${at}: no ${target.samDefinition} in the database`])]
          }
          if (!isObject(properties)) return [...found, `${at}.Properties: must be an object`]
          // SAM fills FunctionName; the source is renamed.
          const renamed = Object.fromEntries(Object.entries(properties).map(([key, item]) => [target.renamed[key] ?? key, item]))
          return [...found, ...checkProperties(renamed, resourceType(target.cfn)!.properties, `${at}.Properties`, target.cfn, { required: false })]
        })
      }

      function checkSamResource(id: string, type: string, properties: Record<string, CfnValue>): string[] {
        const sam = SAM[type]!
        const samSpec = resourceType(type)?.properties
        return Object.entries(properties).flatMap(([key, value]) => {
          const where = `${id} (${type}).${key}`
          const target = sam.properties[key] ?? (sam.passThrough ? cfn(sam.passThrough, key) : undefined)
          if (!target) return [`${where}: ${key} is not a property this check knows SAM to take for ${type} (see SAM's documentation, then test/helpers/cloudformation-spec.ts)`]
          if ('events' in target) return checkSamEvents(value, where)
          if ('sam' in target) {
            const property = samSpec?.[key]
            return property ? checkValue(value, property.type, where) : [`${where}: not in the database's SAM ${type}`]
          }
          const property = propertyAt(target.cfn, target.path)
          const passedTo = `${target.cfn}.${target.path.join('.')}`
          return property ? checkValue(value, property.type, `${where} (as ${passedTo})`) : [`${where}: ${key} is not a property of ${type} (nor of ${target.cfn}, to which SAM passes it)`]
        })
      }

      for (const [id, item] of Object.entries(resources)) {
        const type = item.Type
        const isSam = type in SAM
        for (const key of Object.keys(item)) if (!(isSam ? SAM_RESOURCE_KEYS : RESOURCE_KEYS).has(key)) problems.push(`${id}: ${key} is not a resource attribute`)
        if (isSam) {
          problems.push(...checkSamResource(id, type, item.Properties ?? {}))
          continue
        }
        const spec = resourceType(type)
        if (!spec) {
          problems.push(`${id}: ${type} is not a CloudFormation resource type`)
          continue
        }
        problems.push(...checkProperties(item.Properties ?? {}, spec.properties, `${id} (${type})`, type))
      }
      for (const [id, output] of Object.entries(template.Outputs ?? {})) {
        if (!isObject(output) || output.Value === undefined) problems.push(`Outputs.${id}: needs a Value`)
        else for (const key of Object.keys(output)) if (!OUTPUT_KEYS.has(key)) problems.push(`Outputs.${id}: ${key} is not a key of an output`)
        if (isObject(output) && output.Value !== undefined) problems.push(...checkValue(output.Value, { type: 'string' }, `Outputs.${id}.Value`))
      }
      return problems
    },
  }
}
